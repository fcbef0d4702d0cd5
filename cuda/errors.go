package cuda

import (
	"errors"
	"fmt"

	"github.com/gguftool/gguftool/cuda/driver"
)

// ErrNoDriver is wrapped by Open's error when libcuda.so.1 cannot be loaded.
var ErrNoDriver = errors.New("no NVIDIA driver")

// ErrNoDevice is wrapped when the driver loads but sees no GPU.
var ErrNoDevice = errors.New("no CUDA device")

// Error is a failed driver call: which call, the CUresult, its name and the
// driver's description.
type Error struct {
	Op      string        // driver function, e.g. "cuMemAlloc"
	Code    driver.Result // CUresult
	Name    string        // e.g. CUDA_ERROR_OUT_OF_MEMORY
	Message string        // e.g. "out of memory"
	Detail  string        // extra context (sizes, JIT log), may be empty
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s (%s)", e.Op, e.Name, e.Message)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is lets errors.Is(err, ErrNoDevice) match CUDA_ERROR_NO_DEVICE.
func (e *Error) Is(target error) bool {
	return target == ErrNoDevice && e.Code == driver.ErrorNoDevice
}

// IsOutOfMemory reports whether err is a CUDA_ERROR_OUT_OF_MEMORY.
func IsOutOfMemory(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == driver.ErrorOutOfMemory
}

// resultError builds an Error for r from the built-in name table.
func resultError(op string, r driver.Result) error {
	if r == driver.Success {
		return nil
	}
	n, m := driver.KnownResult(r)
	return &Error{Op: op, Code: r, Name: n, Message: m}
}
