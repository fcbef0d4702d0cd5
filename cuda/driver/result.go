package driver

import "strconv"

// Common CUresult values (cuda.h). The table below lets errors from the fake
// driver, and from a driver whose cuGetErrorName fails, still carry names.
const (
	Success                   Result = 0
	ErrorInvalidValue         Result = 1
	ErrorOutOfMemory          Result = 2
	ErrorNotInitialized       Result = 3
	ErrorDeinitialized        Result = 4
	ErrorNoDevice             Result = 100
	ErrorInvalidDevice        Result = 101
	ErrorInvalidPTX           Result = 218
	ErrorUnsupportedPTX       Result = 222
	ErrorInvalidImage         Result = 200
	ErrorInvalidContext       Result = 201
	ErrorInvalidHandle        Result = 400
	ErrorNotFound             Result = 500
	ErrorNotReady             Result = 600
	ErrorIllegalAddress       Result = 700
	ErrorLaunchResources      Result = 701
	ErrorLaunchTimeout        Result = 702
	ErrorLaunchFailed         Result = 719
	ErrorInsufficientDriver   Result = 35
	ErrorNoBinaryForGPU       Result = 209
	ErrorSystemDriverMismatch Result = 803
	ErrorUnknown              Result = 999
)

var knownResults = map[Result][2]string{
	Success:                   {"CUDA_SUCCESS", "no error"},
	ErrorInvalidValue:         {"CUDA_ERROR_INVALID_VALUE", "invalid argument"},
	ErrorOutOfMemory:          {"CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
	ErrorNotInitialized:       {"CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
	ErrorDeinitialized:        {"CUDA_ERROR_DEINITIALIZED", "driver shutting down"},
	ErrorInsufficientDriver:   {"CUDA_ERROR_INSUFFICIENT_DRIVER", "CUDA driver version is insufficient for CUDA runtime version"},
	ErrorNoDevice:             {"CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
	ErrorInvalidDevice:        {"CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
	ErrorInvalidImage:         {"CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
	ErrorInvalidContext:       {"CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
	ErrorNoBinaryForGPU:       {"CUDA_ERROR_NO_BINARY_FOR_GPU", "no kernel image is available for execution on the device"},
	ErrorInvalidPTX:           {"CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
	ErrorUnsupportedPTX:       {"CUDA_ERROR_UNSUPPORTED_PTX_VERSION", "the provided PTX was compiled with an unsupported toolchain"},
	ErrorInvalidHandle:        {"CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
	ErrorNotFound:             {"CUDA_ERROR_NOT_FOUND", "named symbol not found"},
	ErrorNotReady:             {"CUDA_ERROR_NOT_READY", "device not ready"},
	ErrorIllegalAddress:       {"CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
	ErrorLaunchResources:      {"CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
	ErrorLaunchTimeout:        {"CUDA_ERROR_LAUNCH_TIMEOUT", "the launch timed out and was terminated"},
	ErrorLaunchFailed:         {"CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
	ErrorSystemDriverMismatch: {"CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", "system has unsupported display driver / cuda driver combination"},
	ErrorUnknown:              {"CUDA_ERROR_UNKNOWN", "unknown error"},
}

// KnownResult names r from the built-in table, or "CUresult(N)".
func KnownResult(r Result) (name, msg string) {
	if v, ok := knownResults[r]; ok {
		return v[0], v[1]
	}
	return "CUresult(" + strconv.Itoa(int(r)) + ")", "unrecognized CUDA error"
}
