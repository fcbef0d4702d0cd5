package synth

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/quant"
)

// rng is wyrand: one multiply per 8 random bytes, far faster than a disk.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(r.s, r.s^0xe7037ed1a0b428db)
	return hi ^ lo
}

// fillRandom fills b with random bytes.
func (r *rng) fillRandom(b []byte) {
	i := 0
	for ; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.next())
	}
	if i < len(b) {
		var tail [8]byte
		binary.LittleEndian.PutUint64(tail[:], r.next())
		copy(b[i:], tail[:])
	}
}

// filler generates one tensor's data: values drawn from the tensor's
// valueSpec, encoded in its type. Float types pick each value from a table
// of 4096 Gaussian quantiles (12 random bits a value); quantized types get
// random codes and block scales set so that the dequantized values have
// mean 0 and the spec's σ, the scales varying by up to 2× from block to
// block as a real checkpoint's do (so a kernel reading the wrong block's
// scale gives a wrong answer, not the same one).
type filler struct {
	typ  gguf.Type
	f32  []uint32 // F32 table (bit patterns)
	f16  []uint16 // F16 or BF16 table
	d    [scaleLevels]uint16
	dmin [scaleLevels]uint16 // Q4_1, Q5_1 (the min, negative), Q4_K, Q5_K, Q2_K (dmin)
	e8m0 [scaleLevels]byte   // MXFP4
	q    quantLayout
}

// quantLayout is what the filler needs to know of a block type: where its
// fp16 scale and min live, the rms of its codes when the scale is 1 (with
// the min set to centre them), the min as a multiple of the scale, and the
// sub-block scale bytes it writes as constants.
type quantLayout struct {
	dOff, minOff int     // byte offsets of the fp16 d and min/dmin; minOff < 0: none
	codeRMS      float64 // rms of the centred code values for d = 1
	minPerD      float64 // min = minPerD·d
	signedD      bool    // d < 0 in half the blocks (ggml's Q4_0/Q5_0/IQ4_NL quantizers give either sign), which centres codes without a min
	fixed        []fixedBytes
}

type fixedBytes struct {
	off int
	val []byte
}

const (
	tableBits   = 12
	tableSize   = 1 << tableBits
	scaleLevels = 16
)

func rmsOf(vals []float64) float64 {
	s := 0.0
	for _, v := range vals {
		s += v * v
	}
	return math.Sqrt(s / float64(len(vals)))
}

// centred returns lo..hi minus c.
func centred(lo, hi int, c float64) []float64 {
	var v []float64
	for q := lo; q <= hi; q++ {
		v = append(v, float64(q)-c)
	}
	return v
}

func scaled(v []float64, k float64) []float64 {
	for i := range v {
		v[i] *= k
	}
	return v
}

var (
	iq4nlValues = []float64{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
	mxfp4Values = []float64{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}
)

func repeat(b byte, n int) []byte {
	s := make([]byte, n)
	for i := range s {
		s[i] = b
	}
	return s
}

// layoutOf describes typ's blocks. K-quant sub-block scales are fixed at
// 15 (16 for the signed Q3_K/Q6_K ones) and the mins at the same 15, so
// that with dmin = (mean code)·d every sub-block is centred on zero.
func layoutOf(typ gguf.Type) (quantLayout, error) {
	switch typ {
	case gguf.TypeQ8_0:
		return quantLayout{minOff: -1, codeRMS: rmsOf(centred(-128, 127, 0))}, nil
	case gguf.TypeQ4_0:
		return quantLayout{minOff: -1, codeRMS: rmsOf(centred(0, 15, 8)), signedD: true}, nil
	case gguf.TypeQ5_0:
		return quantLayout{minOff: -1, codeRMS: rmsOf(centred(0, 31, 16)), signedD: true}, nil
	case gguf.TypeIQ4_NL:
		return quantLayout{minOff: -1, codeRMS: rmsOf(iq4nlValues), signedD: true}, nil
	case gguf.TypeQ4_1:
		return quantLayout{minOff: 2, codeRMS: rmsOf(centred(0, 15, 7.5)), minPerD: -7.5}, nil
	case gguf.TypeQ5_1:
		return quantLayout{minOff: 2, codeRMS: rmsOf(centred(0, 31, 15.5)), minPerD: -15.5}, nil
	case gguf.TypeQ4_K:
		// scales[12] at 4: bytes 0-7 hold the low 6 bits of scale and min
		// of sub-blocks 0-3 (and 0 in the top two bits), bytes 8-11 the
		// low nibbles of sub-blocks 4-7's.
		return quantLayout{minOff: 2, codeRMS: rmsOf(scaled(centred(0, 15, 7.5), 15)), minPerD: 7.5,
			fixed: []fixedBytes{{4, repeat(15, 8)}, {12, repeat(0xFF, 4)}}}, nil
	case gguf.TypeQ5_K:
		return quantLayout{minOff: 2, codeRMS: rmsOf(scaled(centred(0, 31, 15.5), 15)), minPerD: 15.5,
			fixed: []fixedBytes{{4, repeat(15, 8)}, {12, repeat(0xFF, 4)}}}, nil
	case gguf.TypeQ6_K:
		// int8 scales[16] at 192, d at 208.
		return quantLayout{dOff: 208, minOff: -1, codeRMS: rmsOf(scaled(centred(0, 63, 32), 16)),
			fixed: []fixedBytes{{192, repeat(16, 16)}}}, nil
	case gguf.TypeQ2_K:
		// scales[16] at 0 (scale low nibble, min high nibble), d at 80, dmin at 82.
		return quantLayout{dOff: 80, minOff: 82, codeRMS: rmsOf(scaled(centred(0, 3, 1.5), 15)), minPerD: 1.5,
			fixed: []fixedBytes{{0, repeat(0xFF, 16)}}}, nil
	case gguf.TypeQ3_K:
		// scales[12] at 96: sixteen 6-bit scales stored with an offset of
		// 32, low nibbles in bytes 0-7, top two bits in bytes 8-11 (byte
		// 8+j%4, bits 2·(j/4)). 0x00 ×8, then 0xFF, 0x55, 0xFF, 0x55 make
		// the even sub-blocks' scales 48 (+16) and the odd ones' 16 (-16),
		// so the codes' mean of -0.5 cancels. d at 108.
		return quantLayout{dOff: 108, minOff: -1, codeRMS: rmsOf(scaled(centred(-4, 3, 0), 16)),
			fixed: []fixedBytes{{96, repeat(0, 8)}, {104, []byte{0xFF, 0x55, 0xFF, 0x55}}}}, nil
	case gguf.TypeMXFP4:
		return quantLayout{minOff: -1, codeRMS: rmsOf(mxfp4Values)}, nil
	}
	return quantLayout{}, fmt.Errorf("synth cannot generate %s data", typ)
}

// gaussTable returns tableSize standard normal quantiles scaled to rms 1,
// so the table's values have exactly the spec's mean and σ.
func gaussTable(s valueSpec) []float64 {
	z := make([]float64, tableSize)
	for i := range z {
		z[i] = math.Sqrt2 * math.Erfinv(2*(float64(i)+0.5)/tableSize-1)
	}
	k := s.sigma / rmsOf(z)
	for i := range z {
		z[i] = s.mean + z[i]*k
	}
	return z
}

// scaleMultipliers are the block-to-block variation of quantized scales:
// 2^u for u evenly spread over (-1, 1), and the rms of those multipliers,
// by which the base scale is divided.
func scaleMultipliers() (m [scaleLevels]float64, rms float64) {
	s := 0.0
	for i := range m {
		m[i] = math.Exp2(-1 + (2*float64(i)+1)/scaleLevels)
		s += m[i] * m[i]
	}
	return m, math.Sqrt(s / scaleLevels)
}

func newFiller(typ gguf.Type, s valueSpec) (*filler, error) {
	f := &filler{typ: typ}
	switch typ {
	case gguf.TypeF32:
		for _, v := range gaussTable(s) {
			f.f32 = append(f.f32, math.Float32bits(float32(v)))
		}
		return f, nil
	case gguf.TypeF16:
		for _, v := range gaussTable(s) {
			f.f16 = append(f.f16, quant.FP32ToFP16(float32(v)))
		}
		return f, nil
	case gguf.TypeBF16:
		for _, v := range gaussTable(s) {
			f.f16 = append(f.f16, quant.FP32ToBF16(float32(v)))
		}
		return f, nil
	}
	// Quantized: the mean is 0 (only norms and rope factors have one, and
	// those are never quantized).
	q, err := layoutOf(typ)
	if err != nil {
		return nil, err
	}
	f.q = q
	mult, multRMS := scaleMultipliers()
	if typ == gguf.TypeMXFP4 {
		// value = code·2^(e-128): pick the 16 exponents around the ideal
		// one, shifted so that their mean square hits σ² most closely.
		ideal := math.Log2(max(s.sigma, 1e-30)/q.codeRMS) + 128
		best, bestErr := 0.0, math.Inf(1)
		for k := -32; k <= 32; k++ {
			shift := float64(k) / 64
			ms := 0.0
			for i := range mult {
				e := math.Round(ideal + math.Log2(mult[i]) + shift)
				ms += math.Exp2(2 * (e - 128))
			}
			got := math.Sqrt(ms/scaleLevels) * q.codeRMS
			if d := math.Abs(math.Log(got / s.sigma)); d < bestErr {
				best, bestErr = shift, d
			}
		}
		for i := range mult {
			e := math.Round(ideal + math.Log2(mult[i]) + best)
			f.e8m0[i] = byte(min(max(e, 1), 254))
		}
		return f, nil
	}
	base := s.sigma / (q.codeRMS * multRMS)
	for i := range mult {
		d := base * mult[i]
		if q.signedD && i%2 == 1 {
			d = -d
		}
		f.d[i] = quant.FP32ToFP16(float32(d))
		f.dmin[i] = quant.FP32ToFP16(float32(d * q.minPerD))
	}
	return f, nil
}

// fill writes valid data of the filler's type into b, which holds whole
// blocks (or whole elements for float types).
func (f *filler) fill(r *rng, b []byte) error {
	switch f.typ {
	case gguf.TypeF32:
		// Five 12-bit table indexes a random word.
		t := (*[tableSize]uint32)(f.f32)
		i := 0
		for ; i+20 <= len(b); i += 20 {
			x := r.next()
			binary.LittleEndian.PutUint32(b[i:], t[x&(tableSize-1)])
			binary.LittleEndian.PutUint32(b[i+4:], t[x>>12&(tableSize-1)])
			binary.LittleEndian.PutUint32(b[i+8:], t[x>>24&(tableSize-1)])
			binary.LittleEndian.PutUint32(b[i+12:], t[x>>36&(tableSize-1)])
			binary.LittleEndian.PutUint32(b[i+16:], t[x>>48&(tableSize-1)])
		}
		if i+4 <= len(b) {
			for x := r.next(); i+4 <= len(b); i, x = i+4, x>>tableBits {
				binary.LittleEndian.PutUint32(b[i:], t[x&(tableSize-1)])
			}
		}
		return nil
	case gguf.TypeF16, gguf.TypeBF16:
		t := (*[tableSize]uint16)(f.f16)
		i := 0
		for ; i+10 <= len(b); i += 10 {
			x := r.next()
			binary.LittleEndian.PutUint16(b[i:], t[x&(tableSize-1)])
			binary.LittleEndian.PutUint16(b[i+2:], t[x>>12&(tableSize-1)])
			binary.LittleEndian.PutUint16(b[i+4:], t[x>>24&(tableSize-1)])
			binary.LittleEndian.PutUint16(b[i+6:], t[x>>36&(tableSize-1)])
			binary.LittleEndian.PutUint16(b[i+8:], t[x>>48&(tableSize-1)])
		}
		if i+2 <= len(b) {
			for x := r.next(); i+2 <= len(b); i, x = i+2, x>>tableBits {
				binary.LittleEndian.PutUint16(b[i:], t[x&(tableSize-1)])
			}
		}
		return nil
	}
	bs := f.typ.TypeSize()
	if len(b)%bs != 0 {
		return fmt.Errorf("internal: %d bytes is not a whole number of %s blocks", len(b), f.typ)
	}
	r.fillRandom(b)
	var x uint64
	for blk, off := 0, 0; off < len(b); blk, off = blk+1, off+bs {
		if blk%16 == 0 { // sixteen 4-bit levels a random word
			x = r.next()
		}
		lvl := x & (scaleLevels - 1)
		x >>= 4
		if f.typ == gguf.TypeMXFP4 {
			b[off] = f.e8m0[lvl]
			continue
		}
		binary.LittleEndian.PutUint16(b[off+f.q.dOff:], f.d[lvl])
		if f.q.minOff >= 0 {
			binary.LittleEndian.PutUint16(b[off+f.q.minOff:], f.dmin[lvl])
		}
		for _, c := range f.q.fixed {
			copy(b[off+c.off:], c.val)
		}
	}
	return nil
}
