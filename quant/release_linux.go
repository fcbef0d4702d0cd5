package quant

import (
	"os"
	"syscall"

	"github.com/gguftool/gguftool/gguf"
)

// releaseSource drops the pages of bytes [from, to) of tensor t, which
// have been consumed, from this process's resident set. The source is a read-only shared file
// mapping (gguf.Open), so the pages stay valid and are read back from
// the file if touched again; without this a quantizer's RSS would grow
// to the size of the model as it reads it.
func releaseSource(src *gguf.File, t *gguf.TensorInfo, from, to int64) {
	b := src.Shards[t.Shard].Bytes()
	page := int64(os.Getpagesize())
	off := src.FileOffset(t)
	lo := (off + from + page - 1) / page * page
	hi := min((off+to)/page*page, int64(len(b)))
	if hi > lo {
		_ = syscall.Madvise(b[lo:hi], syscall.MADV_DONTNEED) // advice only
	}
}
