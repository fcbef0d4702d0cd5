package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/quant"
)

// Block layouts (ggml): bytes per block and elements per block.
const (
	qk         = 32  // elements of a Q8_0, Q4_0 or MXFP4 block
	qkK        = 256 // elements of a K-quant super-block
	q80Bytes   = 34  // fp16 d, int8 q[32]
	q40Bytes   = 18  // fp16 d, uint8 q[16] (two nibbles)
	q50Bytes   = 22  // fp16 d, uint32 qh, uint8 q[16]
	mxfp4Bytes = 17  // uint8 e8m0, uint8 q[16]
	q4KBytes   = 144 // fp16 d, fp16 dmin, scales[12], q[128]
	q5KBytes   = 176 // fp16 d, fp16 dmin, scales[12], qh[32], q[128]
	q6KBytes   = 210 // ql[128], qh[64], int8 scales[16], fp16 d
)

// mxfp4Values are the e2m1 code points doubled (ggml's kvalues_mxfp4).
var mxfp4Values = [16]int8{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}

// Native reports whether t has its own decoder here (and fused SIMD kernels
// on amd64): the types of the converter's outtypes and llama-quantize's
// common recipes.
func Native(t gguf.Type) bool {
	switch t {
	case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ5_0,
		gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeMXFP4:
		return true
	}
	return false
}

// Supported reports whether the kernels can multiply by weights of type t:
// the native types, and every other type package quant decodes (Q4_1, Q5_0,
// Q5_1, Q2_K, Q3_K...), through its reference dequantizer, row by row.
func Supported(t gguf.Type) bool {
	return Native(t) || (quant.Supported(t) && t.BlockSize() > 0)
}

// DequantizeRow decodes one row of len(dst) elements of type t from src,
// which must hold exactly t.RowSize(len(dst)) bytes.
func DequantizeRow(t gguf.Type, dst []float32, src []byte) error {
	n := len(dst)
	if !Supported(t) {
		return fmt.Errorf("kernels: tensor type %s is not supported", t)
	}
	if bs := t.BlockSize(); n%bs != 0 {
		return fmt.Errorf("kernels: row of %d elements is not a multiple of the %s block size %d", n, t, bs)
	}
	if want := t.RowSize(int64(n)); int64(len(src)) != want {
		return fmt.Errorf("kernels: %s row of %d elements needs %d bytes, have %d", t, n, want, len(src))
	}
	dequantRow(t, dst, src)
	return nil
}

// dequantRow is DequantizeRow without the checks, for the hot paths.
func dequantRow(t gguf.Type, dst []float32, src []byte) {
	switch t {
	case gguf.TypeF32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case gguf.TypeF16:
		f16RowToF32(dst, src)
	case gguf.TypeBF16:
		for i := range dst {
			dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case gguf.TypeQ8_0:
		dequantQ8_0(dst, src)
	case gguf.TypeQ4_0:
		dequantQ4_0(dst, src)
	case gguf.TypeQ5_0:
		dequantQ5_0(dst, src)
	case gguf.TypeMXFP4:
		dequantMXFP4(dst, src)
	case gguf.TypeQ4_K:
		dequantQ4K(dst, src)
	case gguf.TypeQ5_K:
		dequantQ5K(dst, src)
	case gguf.TypeQ6_K:
		dequantQ6K(dst, src)
	default:
		// Sizes were checked when the Mat was made; quant only fails on them.
		if err := quant.Dequantize(t, dst, src); err != nil {
			panic("kernels: " + err.Error())
		}
	}
}

func f16RowToF32Portable(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = f16Table[binary.LittleEndian.Uint16(src[2*i:])]
	}
}

func dequantQ8_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qk; b++ {
		blk := src[b*q80Bytes : (b+1)*q80Bytes]
		d := f16Table[binary.LittleEndian.Uint16(blk)]
		out := dst[b*qk : (b+1)*qk]
		for j := range out {
			out[j] = d * float32(int8(blk[2+j]))
		}
	}
}

func dequantQ4_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qk; b++ {
		blk := src[b*q40Bytes : (b+1)*q40Bytes]
		d := f16Table[binary.LittleEndian.Uint16(blk)]
		out := dst[b*qk : (b+1)*qk]
		for j := 0; j < qk/2; j++ {
			q := blk[2+j]
			out[j] = d * float32(int(q&0xf)-8)
			out[j+qk/2] = d * float32(int(q>>4)-8)
		}
	}
}

// dequantQ5_0 decodes Q5_0 (llama-quantize's fallback for rows that are not
// a multiple of 256, e.g. DeepSeek's 1408-wide expert down projections).
func dequantQ5_0(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qk; b++ {
		blk := src[b*q50Bytes : (b+1)*q50Bytes]
		d := f16Table[binary.LittleEndian.Uint16(blk)]
		qh := binary.LittleEndian.Uint32(blk[2:])
		out := dst[b*qk : (b+1)*qk]
		for j := 0; j < qk/2; j++ {
			q := blk[6+j]
			lo := int(q&0xf) | int(qh>>j&1)<<4
			hi := int(q>>4) | int(qh>>(j+16)&1)<<4
			out[j] = float32(lo-16) * d
			out[j+qk/2] = float32(hi-16) * d
		}
	}
}

func dequantMXFP4(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qk; b++ {
		blk := src[b*mxfp4Bytes : (b+1)*mxfp4Bytes]
		d := e8m0Half(blk[0])
		out := dst[b*qk : (b+1)*qk]
		for j := 0; j < qk/2; j++ {
			q := blk[1+j]
			out[j] = d * float32(mxfp4Values[q&0xf])
			out[j+qk/2] = d * float32(mxfp4Values[q>>4])
		}
	}
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of a Q4_K/Q5_K super-block.
func scaleMinK4(j int, s []byte) (sc, m uint8) {
	if j < 4 {
		return s[j] & 63, s[j+4] & 63
	}
	return (s[j+4] & 0xf) | (s[j-4]>>6)<<4, (s[j+4] >> 4) | (s[j]>>6)<<4
}

func dequantQ4K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q4KBytes : (b+1)*q4KBytes]
		d := f16Table[binary.LittleEndian.Uint16(blk)]
		dmin := f16Table[binary.LittleEndian.Uint16(blk[2:])]
		scales := blk[4:16]
		q := blk[16:]
		out := dst[b*qkK : (b+1)*qkK]
		for j, is := 0, 0; j < qkK; j, is = j+64, is+2 {
			sc, m := scaleMinK4(is, scales)
			d1, m1 := d*float32(sc), dmin*float32(m)
			sc, m = scaleMinK4(is+1, scales)
			d2, m2 := d*float32(sc), dmin*float32(m)
			for l := 0; l < 32; l++ {
				out[j+l] = d1*float32(q[l]&0xf) - m1
				out[j+32+l] = d2*float32(q[l]>>4) - m2
			}
			q = q[32:]
		}
	}
}

func dequantQ5K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q5KBytes : (b+1)*q5KBytes]
		d := f16Table[binary.LittleEndian.Uint16(blk)]
		dmin := f16Table[binary.LittleEndian.Uint16(blk[2:])]
		scales := blk[4:16]
		qh := blk[16:48]
		ql := blk[48:]
		out := dst[b*qkK : (b+1)*qkK]
		u1, u2 := uint8(1), uint8(2)
		for j, is := 0, 0; j < qkK; j, is = j+64, is+2 {
			sc, m := scaleMinK4(is, scales)
			d1, m1 := d*float32(sc), dmin*float32(m)
			sc, m = scaleMinK4(is+1, scales)
			d2, m2 := d*float32(sc), dmin*float32(m)
			for l := 0; l < 32; l++ {
				lo, hi := ql[l]&0xf, ql[l]>>4
				if qh[l]&u1 != 0 {
					lo += 16
				}
				if qh[l]&u2 != 0 {
					hi += 16
				}
				out[j+l] = d1*float32(lo) - m1
				out[j+32+l] = d2*float32(hi) - m2
			}
			ql = ql[32:]
			u1 <<= 2
			u2 <<= 2
		}
	}
}

func dequantQ6K(dst []float32, src []byte) {
	for b := 0; b < len(dst)/qkK; b++ {
		blk := src[b*q6KBytes : (b+1)*q6KBytes]
		ql := blk[0:128]
		qh := blk[128:192]
		sc := blk[192:208]
		d := f16Table[binary.LittleEndian.Uint16(blk[208:])]
		out := dst[b*qkK : (b+1)*qkK]
		for n := 0; n < qkK; n += 128 {
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int(ql[l]&0xf|(qh[l]&3)<<4) - 32
				q2 := int(ql[l+32]&0xf|((qh[l]>>2)&3)<<4) - 32
				q3 := int(ql[l]>>4|((qh[l]>>4)&3)<<4) - 32
				q4 := int(ql[l+32]>>4|((qh[l]>>6)&3)<<4) - 32
				out[n+l] = d * float32(int8(sc[is])) * float32(q1)
				out[n+l+32] = d * float32(int8(sc[is+2])) * float32(q2)
				out[n+l+64] = d * float32(int8(sc[is+4])) * float32(q3)
				out[n+l+96] = d * float32(int8(sc[is+6])) * float32(q4)
			}
			ql = ql[64:]
			qh = qh[32:]
			sc = sc[8:]
		}
	}
}
