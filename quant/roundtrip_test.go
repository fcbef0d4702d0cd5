package quant

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// ggmlTestData is the input of ggml's tests/test-quantize-fns.cpp:
// 0.1 + 2·cos(i + offset).
func ggmlTestData(n int, offset float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.1 + 2*math.Cos(float64(i)+offset))
	}
	return x
}

// ggmlRMSE is test-quantize-fns' array_rmse: sqrt(Σ d²)/n (sic), the
// metric its thresholds are stated in.
func ggmlRMSE(a, b []float32) float64 {
	var sum float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		sum += d * d
	}
	return math.Sqrt(sum) / float64(len(a))
}

// maxTotalError holds test-quantize-fns' thresholds per type.
func maxTotalError(t gguf.Type) float64 {
	switch t {
	case gguf.TypeQ2_K:
		return 0.0075
	case gguf.TypeQ3_K:
		return 0.0040
	case gguf.TypeMXFP4:
		return 0.0030
	}
	return 0.002
}

// TestRoundTripGGML applies ggml's own quantization-error test to every
// supported type.
func TestRoundTripGGML(t *testing.T) {
	x := ggmlTestData(32*128, 0)
	for _, typ := range SupportedTypes() {
		q := make([]byte, typ.RowSize(int64(len(x))))
		if err := Quantize(typ, q, x); err != nil {
			t.Fatal(err)
		}
		y := make([]float32, len(x))
		if err := Dequantize(typ, y, q); err != nil {
			t.Fatal(err)
		}
		if e := ggmlRMSE(x, y); e > maxTotalError(typ) {
			t.Errorf("%s: quantization error %.6f > %.4f", typ, e, maxTotalError(typ))
		}
		if typ == gguf.TypeF32 && !slices.Equal(x, y) {
			t.Errorf("F32 round trip changed values")
		}
	}
}

// TestRoundTripEdgeCases feeds the cases the fixture names (zeros,
// constants, tiny and huge scales, outliers, all-positive) and checks the
// result is finite and within a bound relative to the block's magnitude.
func TestRoundTripEdgeCases(t *testing.T) {
	const n = 512
	r := rand.New(rand.NewPCG(3, 4))
	gen := map[string]func(i int) float32{
		"zero":     func(int) float32 { return 0 },
		"constant": func(int) float32 { return 0.37 },
		"negconst": func(int) float32 { return -2.5 },
		"tiny":     func(int) float32 { return float32(r.NormFloat64() * 1e-6) },
		"huge":     func(int) float32 { return float32(r.NormFloat64() * 1e4) },
		"positive": func(int) float32 { return float32(r.Float64()) },
		"outlier": func(i int) float32 {
			if i%97 == 5 {
				return 50
			}
			return float32(r.NormFloat64() * 0.02)
		},
		"halfzero": func(i int) float32 {
			if i%2 == 0 {
				return 0
			}
			return float32(r.NormFloat64())
		},
	}
	for name, g := range gen {
		x := make([]float32, n)
		for i := range x {
			x[i] = g(i)
		}
		var amax float64
		for _, v := range x {
			amax = math.Max(amax, math.Abs(float64(v)))
		}
		for _, typ := range SupportedTypes() {
			q := make([]byte, typ.RowSize(n))
			y := make([]float32, n)
			if err := Quantize(typ, q, x); err != nil {
				t.Fatal(err)
			}
			if err := Dequantize(typ, y, q); err != nil {
				t.Fatal(err)
			}
			// 2-bit levels on a 4-level grid with 4-bit scales: up to about
			// half the block's range; finer types far less. The absolute
			// term covers fp16 scales that underflow to subnormals (ggml
			// behaves the same on 1e-6-scale rows).
			bound := 0.6*amax + 1e-4
			for i := range y {
				if math.IsNaN(float64(y[i])) || math.IsInf(float64(y[i]), 0) || math.Abs(float64(y[i]-x[i])) > bound {
					t.Errorf("%s/%s: element %d: %v → %v (bound %g)", name, typ, i, x[i], y[i], bound)
					break
				}
			}
			if name == "zero" {
				for i := range y {
					if y[i] != 0 {
						t.Errorf("%s: zeros decode to %v", typ, y[i])
						break
					}
				}
			}
		}
	}
}

// TestParallelMatchesPortable checks the multi-goroutine path against the
// single-threaded one, for several sizes and worker counts.
func TestParallelMatchesPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, typ := range SupportedTypes() {
		for _, blocks := range []int{1, 7, 64, 1000} {
			n := blocks * typ.BlockSize()
			if typ.BlockSize() == 1 {
				n = blocks * 256
			}
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			want := make([]byte, typ.RowSize(int64(n)))
			if err := Quantize(typ, want, x); err != nil {
				t.Fatal(err)
			}
			wantY := make([]float32, n)
			if err := Dequantize(typ, wantY, want); err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{0, 1, 3, 16} {
				got := make([]byte, len(want))
				if err := QuantizeParallel(typ, got, x, workers); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s, %d blocks, %d workers: parallel bytes differ", typ, blocks, workers)
				}
				gotY := make([]float32, n)
				if err := DequantizeParallel(typ, gotY, got, workers); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(gotY, wantY) {
					t.Errorf("%s, %d blocks, %d workers: parallel dequantize differs", typ, blocks, workers)
				}
			}
		}
	}
}

// TestQ8_0Reference checks one hand-computed block: d = 127/127 = 1,
// quants round half away from zero.
func TestQ8_0Reference(t *testing.T) {
	x := make([]float32, 32)
	x[0], x[1], x[2], x[3] = 127, -2.5, 2.5, -127
	q := make([]byte, 34)
	if err := Quantize(gguf.TypeQ8_0, q, x); err != nil {
		t.Fatal(err)
	}
	if d := binary.LittleEndian.Uint16(q); d != 0x3c00 {
		t.Errorf("d = %#04x, want 0x3c00 (1.0)", d)
	}
	if got := []int8{int8(q[2]), int8(q[3]), int8(q[4]), int8(q[5])}; !slices.Equal(got, []int8{127, -3, 3, -127}) {
		t.Errorf("quants %v", got)
	}
}

func TestAPIErrors(t *testing.T) {
	x := make([]float32, 33)
	if err := Quantize(gguf.TypeQ8_0, make([]byte, 34), x); err == nil {
		t.Error("33 elements accepted as Q8_0 blocks")
	}
	if err := Quantize(gguf.TypeQ8_0, make([]byte, 33), x[:32]); err == nil {
		t.Error("short destination accepted")
	}
	if err := Quantize(gguf.TypeIQ2_XXS, make([]byte, 66), make([]float32, 256)); err == nil {
		t.Error("IQ2_XXS accepted")
	}
	if err := Dequantize(gguf.TypeQ4_K, make([]float32, 256), make([]byte, 143)); err == nil {
		t.Error("short source accepted")
	}
	if err := Dequantize(gguf.Type(4), make([]float32, 32), make([]byte, 18)); err == nil {
		t.Error("removed type 4 accepted")
	}
	if Supported(gguf.TypeIQ4_NL) || !Supported(gguf.TypeMXFP4) {
		t.Error("Supported is wrong")
	}
}

// FuzzDequantize: arbitrary bytes of any supported type decode without
// panicking.
func FuzzDequantize(f *testing.F) {
	f.Add(uint8(gguf.TypeQ4_K), bytes.Repeat([]byte{0xff}, 144))
	f.Add(uint8(gguf.TypeMXFP4), make([]byte, 17))
	types := SupportedTypes()
	f.Fuzz(func(t *testing.T, ti uint8, data []byte) {
		typ := types[int(ti)%len(types)]
		nb := len(data) / typ.TypeSize()
		y := make([]float32, nb*typ.BlockSize())
		if err := Dequantize(typ, y, data[:nb*typ.TypeSize()]); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzQuantize: arbitrary float bits (NaN, inf, subnormals) quantize
// without panicking.
func FuzzQuantize(f *testing.F) {
	f.Add(uint8(gguf.TypeQ6_K), bytes.Repeat([]byte{0x7f, 0x80, 0, 1}, 256))
	f.Add(uint8(gguf.TypeQ8_0), bytes.Repeat([]byte{0, 0, 0x80, 0x3f}, 32))
	types := SupportedTypes()
	f.Fuzz(func(t *testing.T, ti uint8, data []byte) {
		typ := types[int(ti)%len(types)]
		n := len(data) / 4 / typ.BlockSize() * typ.BlockSize()
		x := make([]float32, n)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		q := make([]byte, typ.RowSize(int64(n)))
		if err := Quantize(typ, q, x); err != nil {
			t.Fatal(err)
		}
	})
}
