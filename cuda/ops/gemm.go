package ops

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
)

// gemmConfig is what the gemm launchers need to know beyond the shapes.
type gemmConfig struct {
	threads, threads8 uint32 // block sizes of gemm_T (and gemm_grouped_T) and gemm8_T
	sms               int    // multiprocessors of the device
}

func newGemmConfig(ctx *cuda.Context, ptx []byte) (gemmConfig, error) {
	var c gemmConfig
	var err error
	if c.threads, err = entryThreads(ptx, "gemm_f32"); err != nil {
		return c, err
	}
	if c.threads8, err = entryThreads(ptx, "gemm8_f32"); err != nil {
		return c, err
	}
	if c.sms, err = ctx.API().DeviceAttribute(ctx.Device(), cuda.AttrMultiprocessorCount); err != nil {
		return c, fmt.Errorf("ops: multiprocessor count: %w", err)
	}
	return c, nil
}

// entryThreads returns the block size a kernel was compiled for: its
// __launch_bounds__, which the PTX states as ".maxntid N, 1, 1" after the
// entry's parameters. Launching with another size would leave parts of
// the tiles unloaded, so the launchers take it from there.
func entryThreads(ptx []byte, entry string) (uint32, error) {
	_, rest, ok := bytes.Cut(ptx, []byte(".entry "+entry+"("))
	if ok {
		decl, _, _ := bytes.Cut(rest, []byte("{"))
		if _, nt, ok := bytes.Cut(decl, []byte(".maxntid")); ok {
			field, _, _ := bytes.Cut(nt, []byte(","))
			if n, err := strconv.Atoi(string(bytes.TrimSpace(field))); err == nil && n > 0 && n <= 1024 && n%32 == 0 {
				return uint32(n), nil
			}
		}
	}
	return 0, fmt.Errorf("ops: the PTX of kernel %s states no block size (.maxntid)", entry)
}

// gemmLaunch runs MatMul's tensor-core product. A grid of fewer than two
// blocks per multiprocessor takes gemm8_T, whose 8 warps per block hide
// latency that a lone 4-warp block cannot (one expert's 64 tokens: 45
// blocks, 16% faster on an H200); bigger grids take gemm_T, whose larger
// warp tiles read shared memory less (360 blocks: 13% faster). Both sum
// each output in the same order, so the choice does not change results.
func (k *Kernels) gemmLaunch(s *cuda.Stream, t WeightType, w cuda.DevicePtr, rb int64, x cuda.DevicePtr, xStride int, y cuda.DevicePtr, yStride int, bias cuda.DevicePtr, nIn, nOut, nTok int) error {
	grid := cuda.Dim3{X: ceilDiv(nOut, gemmRows), Y: ceilDiv(nTok, gemmTokens), Z: 1}
	name, threads := "gemm_", k.gemm.threads
	if int(grid.X)*int(grid.Y) < 2*k.gemm.sms {
		name, threads = "gemm8_", k.gemm.threads8
	}
	return k.launch(name+t.String(), s, grid, cuda.Dim3{X: threads, Y: 1, Z: 1}, w, rb, x, xStride, y, yStride, bias, nIn, nOut, nTok)
}

// GroupedOK reports whether MatMulGrouped accepts weights at w with
// matrices matrixBytes apart and rows of nIn elements: the tensor-core
// kernel decodes whole 32-element units with 16-byte loads.
func GroupedOK(w cuda.DevicePtr, matrixBytes int64, nIn int) bool {
	return nIn%32 == 0 && w%16 == 0 && matrixBytes%16 == 0
}

// MatMulGrouped runs many products of one stack of matrices (the routed
// experts of a batch, inputs sorted by expert) in one tensor-core launch.
// groups holds nGroups int32 triples on the device, (matrix index, first
// row, row count): rows first..first+count-1 of x (xStride floats apart)
// times matrix index (matrixBytes apart from w) go to the same rows of y
// (yStride apart), plus bias + index·biasStride when bias is not 0.
// maxRows bounds every group's count (it sizes the grid). TF32 operands,
// float32 sums, as MatMul's batches; see GroupedOK for what w must be.
func (k *Kernels) MatMulGrouped(s *cuda.Stream, t WeightType, w cuda.DevicePtr, matrixBytes int64, groups cuda.DevicePtr, nGroups, maxRows int, x cuda.DevicePtr, xStride int, y cuda.DevicePtr, yStride int, bias cuda.DevicePtr, biasStride, nIn, nOut int) error {
	rb, err := cputwin.RowBytes(t, nIn)
	if err != nil {
		return fmt.Errorf("ops: matmul_grouped: %w", err)
	}
	if err := positive("matmul_grouped", nIn, nOut, nGroups, maxRows); err != nil {
		return err
	}
	if !GroupedOK(w, matrixBytes, nIn) {
		return fmt.Errorf("ops: matmul_grouped: needs rows of whole 32-element units and 16-byte aligned matrices (n_in %d, weights at %#x, %d bytes per matrix)", nIn, uint64(w), matrixBytes)
	}
	if nGroups > 65535 {
		return fmt.Errorf("ops: matmul_grouped: %d groups (at most 65535)", nGroups)
	}
	return k.launch("gemm_grouped_"+t.String(), s, cuda.Dim3{X: ceilDiv(nOut, gemmRows), Y: ceilDiv(maxRows, gemmTokens), Z: uint32(nGroups)},
		cuda.Dim3{X: k.gemm.threads, Y: 1, Z: 1}, w, rb, matrixBytes, groups, x, xStride, y, yStride, bias, biasStride, nIn, nOut)
}

// emulateMatMulGrouped runs gemm_grouped_<type> on the fake driver.
func emulateMatMulGrouped(t cputwin.WeightType) cuda.FakeKernel {
	return func(f *cuda.Fake, l cuda.Launch) error {
		a := l.Args
		if len(a) != 12 {
			return fmt.Errorf("gemm_grouped takes 12 arguments, got %d", len(a))
		}
		w, rb, mb := cuda.DevicePtr(a[0]), int64(a[1]), int64(a[2])
		x, xs, y, ys, bias, bs := cuda.DevicePtr(a[4]), i32(a[5]), cuda.DevicePtr(a[6]), i32(a[7]), cuda.DevicePtr(a[8]), i32(a[9])
		nIn, nOut := i32(a[10]), i32(a[11])
		groups, err := fakeInt32s(f, cuda.DevicePtr(a[3]), 3*int(l.Grid.Z))
		if err != nil {
			return err
		}
		for g := 0; g < len(groups); g += 3 {
			e, first, count := int64(groups[g]), int(groups[g+1]), int(groups[g+2])
			if count > int(l.Grid.Y)*gemmTokens {
				return fmt.Errorf("gemm_grouped: group %d has %d rows, the grid covers %d", g/3, count, int(l.Grid.Y)*gemmTokens)
			}
			wb, err := f.Bytes(w+cuda.DevicePtr(e*mb), uint64(rb)*uint64(nOut))
			if err != nil {
				return err
			}
			var bv []float32
			if bias != 0 {
				if bv, err = fakeFloats(f, bias+cuda.DevicePtr(4*e*int64(bs)), nOut); err != nil {
					return err
				}
			}
			for r := first; r < first+count; r++ {
				xr, err := fakeFloats(f, x+cuda.DevicePtr(4*r*xs), nIn)
				if err != nil {
					return err
				}
				yr, err := cputwin.MatMul(t, wb, xr, bv, nIn, nOut)
				if err != nil {
					return err
				}
				if err := putFloats(f, y+cuda.DevicePtr(4*r*ys), yr); err != nil {
					return err
				}
			}
		}
		return nil
	}
}
