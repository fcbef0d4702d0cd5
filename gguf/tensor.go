package gguf

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// MaxDims is the largest number of dimensions a tensor may have (GGML_MAX_DIMS).
const MaxDims = 4

// MaxNameLen is the longest tensor name llama.cpp accepts, in bytes
// (GGML_MAX_NAME 64 including the terminating NUL).
const MaxNameLen = 63

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// TensorInfo describes one tensor: its name, type, dimensions (ggml order,
// innermost first) and the offset of its data relative to the data section.
type TensorInfo struct {
	Name   string
	Type   Type
	Dims   []uint64
	Offset uint64

	// Shard is the index of the file holding the tensor in a split model.
	Shard int
}

// NumElements is the product of the dimensions.
func (t *TensorInfo) NumElements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Ne returns the dimensions padded with 1s to MaxDims.
func (t *TensorInfo) Ne() [MaxDims]uint64 {
	ne := [MaxDims]uint64{1, 1, 1, 1}
	copy(ne[:], t.Dims)
	return ne
}

// Size is the number of bytes of the tensor's data.
func (t *TensorInfo) Size() uint64 {
	s, _ := tensorSize(t.Type, t.Dims)
	return s
}

// RowSize is the number of bytes of one row (Dims[0] elements).
func (t *TensorInfo) RowSize() uint64 {
	if len(t.Dims) == 0 {
		return uint64(t.Type.TypeSize())
	}
	return uint64(t.Type.RowSize(int64(t.Dims[0])))
}

// IsExperts reports whether the tensor stacks the routed experts of a MoE
// layer (llama.cpp names them *_exps).
func (t *TensorInfo) IsExperts() bool {
	return strings.Contains(t.Name, "_exps.")
}

// Layer returns the block number of a "blk.N." tensor, or -1.
func (t *TensorInfo) Layer() int { return LayerOf(t.Name) }

// LayerOf returns the block number parsed from a "blk.N." name, or -1.
func LayerOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	n := 0
	i := 0
	for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
		n = n*10 + int(rest[i]-'0')
		if n > math.MaxInt32 {
			return -1
		}
	}
	if i == 0 || i == len(rest) || rest[i] != '.' {
		return -1
	}
	return n
}

// tensorSize returns the byte size of a tensor, checking that the element
// count and byte size fit in int64 and that ne[0] is a whole number of blocks.
func tensorSize(t Type, dims []uint64) (uint64, error) {
	tr, ok := t.Traits()
	if !ok {
		return 0, fmt.Errorf("unknown ggml type id %d", uint32(t))
	}
	ne := [MaxDims]uint64{1, 1, 1, 1}
	copy(ne[:], dims)
	if ne[0]%uint64(tr.BlockSize) != 0 {
		return 0, fmt.Errorf("ne[0]=%d is not a multiple of the %s block size %d", ne[0], tr.Name, tr.BlockSize)
	}
	n := uint64(1)
	for i, d := range ne {
		if d > math.MaxInt64 {
			return 0, fmt.Errorf("ne[%d]=%d overflows int64", i, d)
		}
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("element count %v overflows int64", dims)
		}
		n = lo
	}
	rows := n / max(ne[0], 1)
	if ne[0] == 0 {
		return 0, nil
	}
	row := ne[0] / uint64(tr.BlockSize) * uint64(tr.TypeSize)
	hi, lo := bits.Mul64(row, rows)
	if hi != 0 || lo > math.MaxInt64 {
		return 0, fmt.Errorf("byte size of %v %s overflows int64", dims, tr.Name)
	}
	return lo, nil
}

// Pad rounds x up to a multiple of align.
func Pad(x, align uint64) uint64 { return (x + align - 1) / align * align }
