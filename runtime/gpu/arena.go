package gpu

import (
	"github.com/gguftool/gguftool/cuda"
)

// vecChunk is the size of one arena allocation for small vectors. The
// driver hands out device memory in 2 MiB pages, so a separate cuMemAlloc
// per norm weight or bias (hundreds of them in a model) would cost far more
// than the vectors themselves; the arena packs them into shared chunks.
const vecChunk = 2 << 20

// vecAlign keeps every vector on a 256-byte boundary (the alignment
// cuMemAlloc itself guarantees, which the kernels' wide loads expect).
const vecAlign = 256

// arena sub-allocates small device buffers that live as long as the
// backend. Vectors larger than half a chunk get their own allocation.
type arena struct {
	chunks []*cuda.Buffer
	used   uint64 // bytes used in the last chunk
	bytes  uint64 // bytes handed out (for the memory model's check)
}

// alloc returns device memory for n bytes.
func (a *arena) alloc(ctx *cuda.Context, n uint64) (cuda.DevicePtr, error) {
	a.bytes += n
	if n > vecChunk/2 {
		buf, err := ctx.Alloc(n)
		if err != nil {
			return 0, err
		}
		// Keep the big buffer out of the way of the current chunk.
		a.chunks = append([]*cuda.Buffer{buf}, a.chunks...)
		return buf.Ptr, nil
	}
	off := (a.used + vecAlign - 1) / vecAlign * vecAlign
	if len(a.chunks) == 0 || off+n > a.chunks[len(a.chunks)-1].Size {
		buf, err := ctx.Alloc(vecChunk)
		if err != nil {
			return 0, err
		}
		a.chunks = append(a.chunks, buf)
		off = 0
	}
	a.used = off + n
	return a.chunks[len(a.chunks)-1].At(off), nil
}

// free releases every chunk.
func (a *arena) free() {
	for _, c := range a.chunks {
		c.Free()
	}
	a.chunks, a.used, a.bytes = nil, 0, 0
}
