package kernels

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSIMDMatchesPortable runs every matrix kernel with the SIMD set and the
// portable set on the same inputs, including row lengths with tails.
func TestSIMDMatchesPortable(t *testing.T) {
	if !SetSIMD(true) {
		t.Skip("no SIMD kernels on this CPU")
	}
	for _, avx512 := range []bool{false, true} {
		if avx512 && !hasAVX512 {
			t.Log("no AVX-512 on this CPU: only the AVX2 kernels were compared")
			continue
		}
		t.Run(map[bool]string{false: "avx2", true: "avx512"}[avx512], func(t *testing.T) {
			SetAVX512(avx512)
			defer SetAVX512(true)
			testSIMDMatchesPortable(t)
		})
	}
}

func testSIMDMatchesPortable(t *testing.T) {
	defer SetSIMD(true)
	r := rand.New(rand.NewPCG(11, 12))
	// Plain dot products over awkward lengths.
	for _, n := range []int{1, 7, 8, 9, 31, 32, 33, 100, 257, 2880} {
		a, b := randFloats(r, n, 1), randFloats(r, n, 1)
		SetSIMD(true)
		s := Dot(a, b)
		SetSIMD(false)
		p := Dot(a, b)
		var ref float64
		for i := range a {
			ref += float64(a[i]) * float64(b[i])
		}
		if math.Abs(float64(s)-ref) > 1e-5*math.Sqrt(float64(n)) || math.Abs(float64(p)-ref) > 1e-5*math.Sqrt(float64(n)) {
			t.Errorf("dot n=%d: simd %v portable %v float64 %v", n, s, p, ref)
		}
	}
	for _, typ := range allTypes {
		colsList := []int{256, 2816}
		if typ.BlockSize() == 1 {
			colsList = append(colsList, 37) // tails after the vector loop
		}
		for _, cols := range colsList {
			m := quantized(t, typ, 19, cols, uint64(cols))
			// n = 1 (MatVec), 3 and 7 (the few-token path: four tokens at
			// a time plus three single ones), 11 (tiles: n > fusedMaxTokens).
			x := randFloats(r, 11*cols, 1)
			for _, n := range []int{1, 3, 7, 11} {
				simd := make([]float32, n*m.Rows)
				port := make([]float32, n*m.Rows)
				SetSIMD(true)
				MatMul(simd, m, x, n)
				SetSIMD(false)
				MatMul(port, m, x, n)
				want := make([]float64, len(port))
				for i, v := range port {
					want[i] = float64(v)
				}
				checkClose(t, fmt.Sprintf("%s n=%d simd vs portable", typ, n), simd, want, 2e-6)
			}
		}
	}
	// The SIMD row decoders (of the AVX2 set and of the active one) are
	// bit-identical to the portable ones.
	SetSIMD(true)
	decoders := maps.Clone(tileDequant)
	for typ, dec := range decoders {
		m := quantized(t, typ, 2, 512, 99)
		a, b := make([]float32, 512), make([]float32, 512)
		dec(a, m.Row(1))
		dequantRow(typ, b, m.Row(1))
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s element %d: active SIMD set %v portable %v", typ, i, a[i], b[i])
			}
		}
	}
	for typ, dec := range simdDequant {
		m := quantized(t, typ, 2, 512, 99)
		a, b := make([]float32, 512), make([]float32, 512)
		dec(a, m.Row(1))
		dequantRow(typ, b, m.Row(1))
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s element %d: SIMD %v portable %v", typ, i, a[i], b[i])
			}
		}
	}
	// fp16 conversion is exact in both.
	src := make([]byte, 2*1001)
	for i := range src {
		src[i] = byte(r.Uint32())
	}
	a, b := make([]float32, 1001), make([]float32, 1001)
	f16ToF32F16C(a, src)
	f16RowToF32Portable(b, src)
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			t.Fatalf("f16 %d: F16C %v portable %v", i, a[i], b[i])
		}
	}
}
