//go:build !amd64

package kernels

// useMXFP4KernelSet is useKernelSet off amd64 (the MXFP4 kernel variants
// the amd64 benchmark compares do not exist here).
func useMXFP4KernelSet(name string) bool { return useKernelSet(name) }
