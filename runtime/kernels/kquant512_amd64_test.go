package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// randomKQuant returns rows×cols weights of K-quant type typ made of random
// bytes: every code, every 6-bit scale and min (every int8 scale for Q6_K),
// every high-bit pattern; only the fp16 super-block scales are drawn from a
// finite range (normal 2^−10…2^1 and, one block in eight, subnormal), as a
// quantizer would write them.
func randomKQuant(t *testing.T, r *rand.Rand, typ gguf.Type, rows, cols int) Mat {
	t.Helper()
	bs := int(typ.RowSize(qkK))
	data := make([]byte, rows*cols/qkK*bs)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	half := func() uint16 {
		if r.IntN(8) == 0 {
			return uint16(r.IntN(1 << 10)) // subnormal
		}
		return uint16(5+r.IntN(12))<<10 | uint16(r.IntN(1<<10))
	}
	for b := 0; b < len(data); b += bs {
		switch typ {
		case gguf.TypeQ6_K:
			binary.LittleEndian.PutUint16(data[b+208:], half())
		default:
			binary.LittleEndian.PutUint16(data[b:], half())
			binary.LittleEndian.PutUint16(data[b+2:], half())
		}
	}
	m, err := NewMat(typ, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestKQuantKernelsMatchPortable runs MatVec and MatMul on random Q4_K, Q5_K
// and Q6_K weights with every SIMD set (AVX2, and AVX-512 where the CPU has
// it) against the portable path, and the portable path against float64,
// over one to eleven super-blocks per row, row ranges of a stacked matrix
// and token counts on the fused (n ≤ 8) and tiled paths. AVX2 and AVX-512
// are held to the same bound (see checkAgainstFloat64): the kernels sum in
// another order than the portable dequantize-then-dot path (per-sub-block
// partial sums, scale applied after, 8 or 16 lanes), so results differ by
// float32 rounding, not by any decoding difference. TestSIMDMatchesPortable
// also holds both sets to 2e-6 of the largest output on quantized data.
func TestKQuantKernelsMatchPortable(t *testing.T) {
	if !SetSIMD(true) {
		t.Skip("no SIMD kernels on this CPU")
	}
	defer SetSIMD(true)
	defer SetAVX512(true)
	r := rand.New(rand.NewPCG(7, 8))
	sets := []bool{false}
	if hasAVX512 {
		sets = append(sets, true)
	} else {
		t.Log("no AVX-512 on this CPU: only the AVX2 kernels were compared")
	}
	for _, typ := range []gguf.Type{gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K} {
		for _, cols := range []int{256, 512, 768, 2816} {
			for _, rows := range []int{1, 5, 22} {
				m := randomKQuant(t, r, typ, rows+6, cols).RowRange(3, 3+rows)
				x := randFloats(r, 11*cols, 1)
				for _, n := range []int{1, 2, 4, 5, 8, 11} {
					SetSIMD(false)
					port := make([]float32, n*rows)
					MatMul(port, m, x, n)
					for j := 0; j < n; j++ {
						checkAgainstFloat64(t, fmt.Sprintf("%s portable %d×%d n=%d token %d", typ, rows, cols, n, j),
							port[j*rows:(j+1)*rows], port[j*rows:(j+1)*rows], m, x[j*cols:(j+1)*cols])
					}
					for _, avx512 := range sets {
						SetSIMD(true)
						SetAVX512(avx512)
						got := make([]float32, n*rows)
						MatMul(got, m, x, n)
						for j := 0; j < n; j++ {
							checkAgainstFloat64(t, fmt.Sprintf("%s %s %d×%d n=%d token %d vs portable", typ, SIMD(), rows, cols, n, j),
								got[j*rows:(j+1)*rows], port[j*rows:(j+1)*rows], m, x[j*cols:(j+1)*cols])
						}
					}
				}
			}
		}
	}
}

// checkAgainstFloat64 checks got (m·x in float32) against want (the
// portable result, or got itself) and both against the float64 product of
// the decoded weights, within 1e-6·Σ|w·x| per row. Random K-quant rows
// cancel heavily (the mins against the scaled codes, large scales of both
// signs), so a bound relative to the largest output measures the
// cancellation, not the kernel: float32 sums of these 256…2816 terms in any
// order are good to a few ε·√n·Σ|w·x| (ε = 6e-8), while decoding one
// 32-weight sub-block wrong is off by ~1% of Σ|w·x|.
func checkAgainstFloat64(t *testing.T, what string, got, want []float32, m Mat, x []float32) {
	t.Helper()
	w := make([]float32, m.Cols)
	for r := range got {
		dequantRow(m.Type, w, m.Row(r))
		var ref, mag float64
		for i, v := range w {
			ref += float64(v) * float64(x[i])
			mag += math.Abs(float64(v) * float64(x[i]))
		}
		if d := math.Abs(float64(got[r]) - ref); d > 1e-6*mag {
			t.Fatalf("%s: row %d = %v, float64 %v (|Δ| %.3g, Σ|w·x| %.3g)", what, r, got[r], ref, d, mag)
		}
		if d := math.Abs(float64(got[r]) - float64(want[r])); d > 1e-6*mag {
			t.Fatalf("%s: row %d = %v, portable %v (|Δ| %.3g, Σ|w·x| %.3g)", what, r, got[r], want[r], d, mag)
		}
	}
}

// TestKQuantAVX512RowKernels checks the AVX-512 row kernels and the
// four-token kernels themselves (not only through the active set) against
// the portable dequantize-then-dot.
func TestKQuantAVX512RowKernels(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512 on this CPU")
	}
	r := rand.New(rand.NewPCG(9, 10))
	kernels := map[gguf.Type]fusedDot{
		gguf.TypeQ4_K: dotQ4KRowFusedAVX512,
		gguf.TypeQ5_K: dotQ5KRowFusedAVX512,
		gguf.TypeQ6_K: dotQ6KRowFusedAVX512,
	}
	for typ, kern := range kernels {
		for _, cols := range []int{256, 1280, 4096} {
			m := randomKQuant(t, r, typ, 4, cols)
			x := randFloats(r, cols, 1)
			xsum := groupSums(x)
			buf := make([]float32, cols)
			got := make([]float32, m.Rows)
			for i := range got {
				got[i] = kern(m.Row(i), x, xsum, nil)
			}
			want := make([]float64, m.Rows)
			for i := range want {
				dequantRow(typ, buf, m.Row(i))
				want[i] = float64(dotF32Portable(buf, x))
			}
			checkClose(t, fmt.Sprintf("%s cols=%d AVX-512 row kernel", typ, cols), got, want, 2e-6)
		}
	}
	// The four-token kernels, one row against four activation rows.
	tokens4 := map[gguf.Type]tokenDot4{
		gguf.TypeQ4_K: dotQ4KTokens4AVX512,
		gguf.TypeQ5_K: dotQ5KTokens4AVX512,
		gguf.TypeQ6_K: dotQ6KTokens4AVX512,
	}
	for typ, kern := range tokens4 {
		for _, cols := range []int{256, 1280, 4096} {
			m := randomKQuant(t, r, typ, 3, cols)
			x := randFloats(r, 4*cols, 1)
			buf := make([]float32, cols)
			for i := 0; i < m.Rows; i++ {
				var out [4]float32
				kern(m.Row(i), x, cols, &out)
				dequantRow(typ, buf, m.Row(i))
				want := make([]float64, 4)
				for k := range want {
					want[k] = float64(dotF32Portable(buf, x[k*cols:(k+1)*cols]))
				}
				checkClose(t, fmt.Sprintf("%s cols=%d row %d four-token kernel", typ, cols, i), out[:], want, 2e-6)
			}
		}
	}
}
