package gpu

import (
	"fmt"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/runtime"
)

// The CUDA driver hands out device memory in 2 MiB pages: a model's
// hundred-odd weight matrices and twenty scratch slots, each its own
// cuMemAlloc, waste a page fraction apiece (67 MiB of gpt-oss-20b Q8_0's
// 2 GiB budget for the weights alone). The executor therefore packs its
// weights into one allocation and its scratch slots into another, each
// piece 256-byte aligned (what cuMemAlloc guarantees and the kernels' wide
// loads expect); planner.gguftoolMemory models the same packing.

// packAlign is the alignment of every piece of a packed allocation.
const packAlign = 256

func alignUp(n uint64) uint64 { return (n + packAlign - 1) / packAlign * packAlign }

// PackedBytes is the size of one allocation holding pieces of the given
// sizes, each starting on a 256-byte boundary.
func PackedBytes(sizes []uint64) uint64 {
	var n uint64
	for _, s := range sizes {
		n += alignUp(s)
	}
	return n
}

// UploadPacked uploads whole tensors (none split by expert) into one device
// allocation, in order; tensors already on the GPU are skipped. It is what
// Upload does for each, less the page rounding.
func (b *Backend) UploadPacked(ts []*runtime.Tensor) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var todo []*runtime.Tensor
	var sizes []uint64
	seen := map[*runtime.Tensor]bool{}
	for _, t := range ts {
		if _, ok := b.weights[t]; ok || seen[t] {
			continue
		}
		if t.ExpertDevices != nil {
			return fmt.Errorf("tensor %s: split by expert, cannot be packed", t.Name)
		}
		seen[t] = true
		todo = append(todo, t)
		sizes = append(sizes, uint64(len(t.Data)))
	}
	if len(todo) == 0 {
		return nil
	}
	total := PackedBytes(sizes)
	pack, err := b.ctx.Alloc(total)
	if err != nil {
		return fmt.Errorf("weights (%d tensors, %d bytes in one allocation): %w", len(todo), total, err)
	}
	ws := map[*runtime.Tensor]*weight{}
	var off uint64
	for i, t := range todo {
		w, err := weightOf(t)
		if err == nil {
			w.buf, err = pack.Slice(off, sizes[i])
		}
		if err == nil {
			err = w.buf.Upload(0, t.Data)
		}
		if err != nil {
			pack.Free()
			return fmt.Errorf("tensor %s: %w", t.Name, err)
		}
		ws[t] = w
		off += alignUp(sizes[i])
	}
	for t, w := range ws {
		b.weights[t] = w
		b.weightBytes += w.buf.Size
	}
	b.packs = append(b.packs, pack)
	return nil
}

// weightOf describes whole tensor t's device copy (its buffer not set).
func weightOf(t *runtime.Tensor) (*weight, error) {
	typ := cputwin.WeightType(t.Info.Type)
	rb, err := cputwin.RowBytes(typ, t.Cols())
	if err != nil {
		return nil, fmt.Errorf("%s, %d columns: %w", t.Info.Type, t.Cols(), err)
	}
	if int64(len(t.Data)) != rb*int64(t.Rows()) {
		return nil, fmt.Errorf("%d bytes for %d rows of %d bytes", len(t.Data), t.Rows(), rb)
	}
	return &weight{typ: typ, rowBytes: rb}, nil
}

// packScratch gives the scratch slots of sizes (in floats) one allocation:
// each slot becomes a view of it, at least as large as it was. Queued work
// is waited for first, since the slots' old buffers are released.
func (b *Backend) packScratch(sizes map[int]int) error {
	if err := b.s.Synchronize(); err != nil {
		return err
	}
	n := 0
	for i := range sizes {
		n = max(n, i+1)
	}
	for len(b.scr) < n {
		b.scr = append(b.scr, nil)
	}
	bytes := make([]uint64, len(b.scr))
	for i, buf := range b.scr {
		if buf != nil {
			bytes[i] = buf.Size
		}
		if f, ok := sizes[i]; ok {
			bytes[i] = max(bytes[i], uint64(4*f), 4)
		}
	}
	pack, err := b.ctx.Alloc(PackedBytes(bytes))
	if err != nil {
		return err
	}
	views := make([]*cuda.Buffer, len(b.scr))
	var off uint64
	for i, s := range bytes {
		if s == 0 {
			continue
		}
		if views[i], err = pack.Slice(off, s); err != nil {
			pack.Free()
			return err
		}
		off += alignUp(s)
	}
	for i := range b.scr {
		b.scr[i].Free()
		b.scr[i] = views[i]
	}
	b.scrPack.Free()
	b.scrPack = pack
	return nil
}
