// Package cputwin is the plain-Go float32 reference of every gguftool CUDA
// kernel: same inputs, same semantics, written for clarity. The GPU tests in
// cuda/ops compare each kernel against its twin on random inputs, and the
// fake driver can run the twins in place of kernels.
package cputwin

import (
	"fmt"
	"math"
)

// WeightType is a ggml tensor type; the values are the ggml type ids (so a
// gguf type converts with a plain cast).
type WeightType uint32

// The weight types the matrix and embedding kernels decode.
const (
	F32   WeightType = 0
	F16   WeightType = 1
	Q8_0  WeightType = 8
	Q4_K  WeightType = 12
	Q5_K  WeightType = 13
	Q6_K  WeightType = 14
	BF16  WeightType = 30
	MXFP4 WeightType = 39
)

// WeightTypes lists the supported types in kernel-name order.
var WeightTypes = []WeightType{F32, F16, BF16, Q8_0, Q4_K, Q5_K, Q6_K, MXFP4}

var typeInfo = map[WeightType]struct {
	name        string
	block, size int
}{
	F32: {"f32", 1, 4}, F16: {"f16", 1, 2}, BF16: {"bf16", 1, 2}, Q8_0: {"q8_0", 32, 34},
	Q4_K: {"q4_k", 256, 144}, Q5_K: {"q5_k", 256, 176}, Q6_K: {"q6_k", 256, 210}, MXFP4: {"mxfp4", 32, 17},
}

// String returns the kernel suffix of the type (e.g. "q4_k").
func (t WeightType) String() string {
	if i, ok := typeInfo[t]; ok {
		return i.name
	}
	return fmt.Sprintf("ggml_type(%d)", uint32(t))
}

// Supported reports whether the kernels decode t.
func (t WeightType) Supported() bool { _, ok := typeInfo[t]; return ok }

// BlockSize returns elements and bytes per block of t.
func (t WeightType) BlockSize() (elems, bytes int) {
	i := typeInfo[t]
	return i.block, i.size
}

// RowBytes returns the bytes of a row of n elements of type t, or an error
// when t is unsupported or n is not a whole number of blocks.
func RowBytes(t WeightType, n int) (int64, error) {
	i, ok := typeInfo[t]
	if !ok {
		return 0, fmt.Errorf("weight type %v is not supported by the CUDA kernels", t)
	}
	if n%i.block != 0 {
		return 0, fmt.Errorf("row of %d elements is not a multiple of the %v block size %d", n, t, i.block)
	}
	return int64(n/i.block) * int64(i.size), nil
}

// HalfToFloat32 decodes an IEEE binary16 value.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: man * 2^-24
		f := float32(man) * float32(1.0/16777216.0)
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

func half(b []byte) float32 { return HalfToFloat32(uint16(b[0]) | uint16(b[1])<<8) }

var kvaluesMXFP4 = [16]float32{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}

func scaleMinK4(j int, s []byte) (sc, m int) {
	if j < 4 {
		return int(s[j] & 63), int(s[j+4] & 63)
	}
	return int(s[j+4]&15) | int(s[j-4]>>6)<<4, int(s[j+4]>>4) | int(s[j]>>6)<<4
}

// Dequant decodes the first n elements of a row of type t into out.
func Dequant(t WeightType, row []byte, out []float32) error {
	n := len(out)
	rb, err := RowBytes(t, n)
	if err != nil {
		return err
	}
	if int64(len(row)) < rb {
		return fmt.Errorf("%v row of %d elements needs %d bytes, have %d", t, n, rb, len(row))
	}
	switch t {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(uint32(row[4*i]) | uint32(row[4*i+1])<<8 | uint32(row[4*i+2])<<16 | uint32(row[4*i+3])<<24)
		}
	case F16:
		for i := range out {
			out[i] = half(row[2*i:])
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits((uint32(row[2*i]) | uint32(row[2*i+1])<<8) << 16)
		}
	case Q8_0:
		for b := 0; b < n/32; b++ {
			blk := row[34*b:]
			d := half(blk)
			for j := 0; j < 32; j++ {
				out[32*b+j] = d * float32(int8(blk[2+j]))
			}
		}
	case MXFP4:
		for b := 0; b < n/32; b++ {
			blk := row[17*b:]
			d := float32(math.Ldexp(1, int(blk[0])-128))
			for j := 0; j < 16; j++ {
				out[32*b+j] = kvaluesMXFP4[blk[1+j]&15] * d
				out[32*b+j+16] = kvaluesMXFP4[blk[1+j]>>4] * d
			}
		}
	case Q4_K, Q5_K:
		size, qsOff := 144, 16
		if t == Q5_K {
			size, qsOff = 176, 48
		}
		for b := 0; b < n/256; b++ {
			blk := row[size*b:]
			d, dmin := half(blk), half(blk[2:])
			for j := 0; j < 256; j++ {
				c, l, hi := j/64, j%32, (j/32)%2
				sc, m := scaleMinK4(j/32, blk[4:16])
				q := blk[qsOff+32*c+l]
				L := int(q & 15)
				if hi == 1 {
					L = int(q >> 4)
				}
				if t == Q5_K {
					L |= int(blk[16+l]>>(2*c+hi)&1) << 4
				}
				out[256*b+j] = d*float32(sc)*float32(L) - dmin*float32(m)
			}
		}
	case Q6_K:
		for b := 0; b < n/256; b++ {
			blk := row[210*b:]
			d := half(blk[208:])
			for j := 0; j < 256; j++ {
				h, r := j/128, j%128
				quad, l := r/32, r%32
				ql := blk[64*h+l+32*(quad&1)]
				low := int(ql & 15)
				if quad >= 2 {
					low = int(ql >> 4)
				}
				hb := int(blk[128+32*h+l]>>(2*quad)) & 3
				L := low | hb<<4
				out[256*b+j] = d * float32(int8(blk[192+j/16])) * float32(L-32)
			}
		}
	}
	return nil
}
