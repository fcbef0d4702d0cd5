// Package gpu is the CUDA backend of the runtime: it implements
// runtime.Backend on one NVIDIA GPU with the kernels of cuda/ops. Weights
// placed on the GPU (whole tensors, or single experts of a stacked tensor)
// are uploaded once in their GGUF encoding and decoded by the matrix
// kernels; activations travel per call (runtime.Backend's contract: host
// float32 in and out) through pinned staging buffers.
package gpu

import (
	"fmt"
	"sync"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/cuda/ops"
	"github.com/gguftool/gguftool/runtime"
)

// Backend runs the matrix products of the weights placed on one GPU.
// It is safe for concurrent use; calls are serialized on one stream.
type Backend struct {
	dev runtime.Device
	ctx *cuda.Context
	k   *ops.Kernels
	s   *cuda.Stream

	mu       sync.Mutex
	weights  map[*runtime.Tensor]*weight
	x, y     *cuda.Buffer              // device activations, grown on demand
	hx, hy   *cuda.HostBuffer          // pinned staging for x and y
	hpos     *cuda.HostBuffer          // pinned staging for positions
	scr      []*cuda.Buffer            // scratch activations of the block ops
	vecs     map[vecKey]cuda.DevicePtr // small vectors, packed in vecArena
	vecArena arena
	packs    []*cuda.Buffer // allocations that UploadPacked's weights are views of
	scrPack  *cuda.Buffer   // the allocation the scratch slots are views of (packScratch)

	// freeAtStart is cuMemGetInfo's free memory right after the kernels
	// loaded, the baseline of MemoryUsed.
	freeAtStart, total uint64
	weightBytes        uint64
}

// weight is a tensor's device copy: the whole tensor, or some experts of a
// stacked tensor (offsets of each uploaded expert in buf).
type weight struct {
	buf           *cuda.Buffer
	typ           cputwin.WeightType
	rowBytes      int64
	rowsPerExpert int
	expertOff     map[int]uint64 // nil: whole tensor, row r at r·rowBytes
}

// New opens GPU ordinal (cuda:N) and loads the kernels. Without a driver or
// GPU the error says why (cuda.ErrNoDriver, cuda.ErrNoDevice).
func New(ordinal int) (*Backend, error) {
	d, err := cuda.Open()
	if err != nil {
		return nil, err
	}
	return newOn(d, ordinal)
}

// newOn makes the backend of GPU ordinal of driver d (real or fake).
func newOn(d *cuda.Driver, ordinal int) (*Backend, error) {
	ctx, err := d.Context(ordinal)
	if err != nil {
		return nil, err
	}
	k, err := ops.Load(ctx)
	if err != nil {
		ctx.Close()
		return nil, err
	}
	b, err := NewWithKernels(runtime.Device{Kind: runtime.CUDA, Index: ordinal}, ctx, k)
	if err != nil {
		k.Close()
		ctx.Close()
	}
	return b, err
}

// NewWithKernels builds a backend on an existing context and kernels (tests
// use the fake driver this way).
func NewWithKernels(dev runtime.Device, ctx *cuda.Context, k *ops.Kernels) (*Backend, error) {
	s, err := ctx.NewStream()
	if err != nil {
		return nil, err
	}
	b := &Backend{dev: dev, ctx: ctx, k: k, s: s, weights: map[*runtime.Tensor]*weight{}, vecs: map[vecKey]cuda.DevicePtr{}}
	b.freeAtStart, b.total, err = ctx.MemInfo()
	if err != nil {
		s.Destroy()
		return nil, err
	}
	return b, nil
}

// Device implements runtime.Backend.
func (b *Backend) Device() runtime.Device { return b.dev }

// Upload implements runtime.Backend: it copies the tensor (or its experts
// placed on this device) to GPU memory once.
func (b *Backend) Upload(t *runtime.Tensor) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.weights[t]; ok {
		return nil
	}
	typ := cputwin.WeightType(t.Info.Type)
	cols := t.Cols()
	rb, err := cputwin.RowBytes(typ, cols)
	if err != nil {
		return fmt.Errorf("tensor %s (%s, %d columns): %w", t.Name, t.Info.Type, cols, err)
	}
	w := &weight{typ: typ, rowBytes: rb}
	if t.ExpertDevices == nil {
		if int64(len(t.Data)) != rb*int64(t.Rows()) {
			return fmt.Errorf("tensor %s: %d bytes for %d rows of %d bytes", t.Name, len(t.Data), t.Rows(), rb)
		}
		if w.buf, err = b.ctx.Alloc(uint64(len(t.Data))); err != nil {
			return fmt.Errorf("tensor %s: %w", t.Name, err)
		}
		if err := w.buf.Upload(0, t.Data); err != nil {
			w.buf.Free()
			return fmt.Errorf("tensor %s: %w", t.Name, err)
		}
	} else {
		nExp := len(t.ExpertDevices)
		w.rowsPerExpert = t.Rows() / nExp
		expBytes := rb * int64(w.rowsPerExpert)
		var mine []int
		for e, d := range t.ExpertDevices {
			if d == b.dev {
				mine = append(mine, e)
			}
		}
		if len(mine) == 0 {
			return nil
		}
		if w.buf, err = b.ctx.Alloc(uint64(expBytes) * uint64(len(mine))); err != nil {
			return fmt.Errorf("tensor %s (%d experts): %w", t.Name, len(mine), err)
		}
		w.expertOff = map[int]uint64{}
		for i, e := range mine {
			off := uint64(i) * uint64(expBytes)
			if err := w.buf.Upload(off, t.Data[int64(e)*expBytes:int64(e+1)*expBytes]); err != nil {
				w.buf.Free()
				return fmt.Errorf("tensor %s expert %d: %w", t.Name, e, err)
			}
			w.expertOff[e] = off
		}
	}
	b.weights[t] = w
	b.weightBytes += w.buf.Size
	return nil
}

// rowsPtr returns the device address of row r0 of t and checks that rows
// [r0, r1) are on this device (within one expert for split tensors).
func (w *weight) rowsPtr(name string, r0, r1 int) (cuda.DevicePtr, error) {
	if w.expertOff == nil {
		return w.buf.At(uint64(r0) * uint64(w.rowBytes)), nil
	}
	e := r0 / w.rowsPerExpert
	off, ok := w.expertOff[e]
	if !ok || r1 > (e+1)*w.rowsPerExpert {
		return 0, fmt.Errorf("rows [%d, %d) of %s are not one expert uploaded to this GPU", r0, r1, name)
	}
	return w.buf.At(off + uint64(r0-e*w.rowsPerExpert)*uint64(w.rowBytes)), nil
}

// grow makes *buf hold at least n bytes.
func (b *Backend) grow(buf **cuda.Buffer, n uint64) error {
	if *buf != nil && (*buf).Size >= n {
		return nil
	}
	if *buf != nil {
		(*buf).Free()
	}
	nb, err := b.ctx.Alloc(max(n, 1<<20))
	*buf = nb
	return err
}

func (b *Backend) growHost(buf **cuda.HostBuffer, n uint64) error {
	if *buf != nil && uint64(len((*buf).Bytes())) >= n {
		return nil
	}
	if *buf != nil {
		(*buf).Free()
	}
	nb, err := b.ctx.AllocHost(max(n, 1<<20))
	*buf = nb
	return err
}

// MatMul implements runtime.Backend: dst[j·rows + r] = Σ_i w[r0+r, i]·x[j·cols + i].
func (b *Backend) MatMul(dst []float32, t *runtime.Tensor, r0, r1 int, x []float32, n int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	w, ok := b.weights[t]
	if !ok {
		return fmt.Errorf("tensor %s was not uploaded to %s", t.Name, b.dev)
	}
	wp, err := w.rowsPtr(t.Name, r0, r1)
	if err != nil {
		return err
	}
	cols, rows := t.Cols(), r1-r0
	if len(x) < n*cols || len(dst) < n*rows {
		return fmt.Errorf("%s: buffers of %d/%d floats for %d tokens × %d → %d", t.Name, len(x), len(dst), n, cols, rows)
	}
	xb, yb := uint64(4*n*cols), uint64(4*n*rows)
	if err := b.grow(&b.x, xb); err != nil {
		return err
	}
	if err := b.grow(&b.y, yb); err != nil {
		return err
	}
	if err := b.growHost(&b.hx, xb); err != nil {
		return err
	}
	if err := b.growHost(&b.hy, yb); err != nil {
		return err
	}
	copy(b.hx.Float32s(), x[:n*cols])
	if err := b.s.UploadAsync(b.x.Ptr, b.hx.Bytes()[:xb]); err != nil {
		return err
	}
	if err := b.k.MatMul(b.s, w.typ, wp, b.x.Ptr, cols, b.y.Ptr, rows, 0, cols, rows, n); err != nil {
		return fmt.Errorf("%s: %w", t.Name, err)
	}
	if err := b.s.DownloadAsync(b.hy.Bytes()[:yb], b.y.Ptr); err != nil {
		return err
	}
	if err := b.s.Synchronize(); err != nil {
		return fmt.Errorf("%s on %s: %w", t.Name, b.dev, err)
	}
	copy(dst[:n*rows], b.hy.Float32s())
	return nil
}

// WeightBytes is the device memory the uploaded weights take.
func (b *Backend) WeightBytes() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.weightBytes
}

// MemoryUsed is the device memory this backend took since it started
// (weights, scratch), as cuMemGetInfo sees it; the context's own share is
// not included (see docs/cuda.md for its measured size).
func (b *Backend) MemoryUsed() (uint64, error) {
	free, _, err := b.ctx.MemInfo()
	if err != nil {
		return 0, err
	}
	if free > b.freeAtStart {
		return 0, nil
	}
	return b.freeAtStart - free, nil
}

// Close frees the weights and buffers and releases the context.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, w := range b.weights {
		w.buf.Free()
	}
	b.weights = map[*runtime.Tensor]*weight{}
	for _, p := range b.packs {
		p.Free()
	}
	b.vecArena.free()
	for _, v := range b.scr {
		v.Free()
	}
	b.scrPack.Free()
	b.packs, b.scrPack = nil, nil
	b.vecs, b.scr = nil, nil
	b.x.Free()
	b.y.Free()
	b.hx.Free()
	b.hy.Free()
	b.hpos.Free()
	b.s.Destroy()
	b.k.Close()
	return b.ctx.Close()
}
