package ops

import (
	"fmt"
	"os"
	"strconv"

	"github.com/gguftool/gguftool/cuda"
)

// KernelStack is the per-thread stack (bytes) Load gives the context:
// gguftool's kernels need at most 32 (rope_f32's trig argument reduction;
// every other kernel 0, `nvcc -cubin -arch=sm_90 -Xptxas -v`; the PTX
// local depots are checked by TestKernelStackCoversLocalDepots), with room
// for another compiler's frames. The driver's default is 1 KiB, backed by
// local memory for every thread the device can hold, which is part of the
// context's fixed VRAM; how much a smaller stack saves is for the GPU to
// tell (the planner's reserve stays the measured default).
const KernelStack = 256

// StackEnv overrides KernelStack: a number of bytes, or "default" to
// leave the driver's limit alone (to measure the context both ways).
const StackEnv = "GGUFTOOL_CUDA_STACK"

// setStack applies KernelStack (or $GGUFTOOL_CUDA_STACK) to ctx. A driver
// that refuses keeps its default: the limit saves memory, nothing depends
// on it.
func setStack(ctx *cuda.Context) error {
	v := uint64(KernelStack)
	if s := os.Getenv(StackEnv); s != "" {
		if s == "default" {
			return nil
		}
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n == 0 {
			return fmt.Errorf("ops: $%s = %q: want a stack size in bytes or \"default\"", StackEnv, s)
		}
		v = n
	}
	_ = ctx.SetLimit(cuda.LimitStackSize, v)
	return nil
}
