package quant

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// withLanes runs f with the lane search switched on or off.
func withLanes(on bool, f func()) {
	saved := useLanes
	useLanes = on
	defer func() { useLanes = saved }()
	f()
}

// laneTestData covers the shapes that steer the search: normal, heavy
// tails, constants (degenerate sub-blocks), all-positive, zeros, tiny.
func laneTestData(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch (i / 32) % 7 {
		case 0:
			x[i] = float32(r.NormFloat64())
		case 1:
			x[i] = float32(r.NormFloat64() * math.Exp(3*r.NormFloat64()))
		case 2:
			x[i] = 0.25
		case 3:
			x[i] = float32(r.Float64())
		case 4:
			x[i] = 0
		case 5:
			x[i] = float32(r.NormFloat64() * 1e-6)
		default:
			if i%5 == 0 {
				x[i] = -3
			} else {
				x[i] = float32(r.NormFloat64() * 0.01)
			}
		}
	}
	return x
}

// TestLanesMatchPortable: the eight-lane search (AVX2 where available)
// gives the bytes of the one-sub-block-at-a-time portable search.
func TestLanesMatchPortable(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, typ := range []gguf.Type{gguf.TypeQ2_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeMXFP4} {
		for trial := 0; trial < 24; trial++ {
			x := laneTestData(r, 256*16)
			if trial%4 == 3 { // raw bit patterns: NaN, inf, subnormals, huge
				for i := range x {
					if r.IntN(8) == 0 {
						x[i] = math.Float32frombits(r.Uint32())
					}
				}
			}
			r.Shuffle(len(x)/32, func(i, j int) {
				for k := 0; k < 32; k++ {
					x[32*i+k], x[32*j+k] = x[32*j+k], x[32*i+k]
				}
			})
			want := make([]byte, typ.RowSize(int64(len(x))))
			got := make([]byte, len(want))
			withLanes(false, func() { quantizeNoErr(t, typ, want, x) })
			withLanes(true, func() { quantizeNoErr(t, typ, got, x) })
			if !bytes.Equal(got, want) {
				t.Fatalf("%s trial %d: lane search differs from portable", typ, trial)
			}
		}
	}
}

func quantizeNoErr(t *testing.T, typ gguf.Type, dst []byte, x []float32) {
	t.Helper()
	if err := Quantize(typ, dst, x); err != nil {
		t.Fatal(err)
	}
}

// TestLaneKernels compares the assembly kernels with their Go versions
// on random lanes (same bits, including the level arrays).
func TestLaneKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for trial := 0; trial < 200; trial++ {
		var b laneBlock
		var isc, ts, tm [lanes]float32
		for i := 0; i < 32; i++ {
			for k := 0; k < lanes; k++ {
				b.x[i][k] = float32(r.NormFloat64())
				b.w[i][k] = float32(r.Float64() * 2)
				b.xm[i][k] = float32(r.Float64() * 4)
				b.la[i][k] = int32(r.IntN(32))
			}
		}
		for k := 0; k < lanes; k++ {
			isc[k] = float32(r.Float64() * 10)
			ts[k] = float32(r.NormFloat64())
			tm[k] = float32(-r.Float64())
		}
		n := 16 + 16*(trial%2)
		nmax := int32([]int{3, 15, 31}[trial%3])
		var la1, la2 [32][lanes]int32
		var s1, s2 [3][lanes]float32
		withLanes(true, func() { qkx2Sums(&isc, &b, &la1, n, nmax, &s1) })
		qkx2SumsGo(&isc, &b, &la2, n, nmax, &s2)
		if la1 != la2 || s1 != s2 {
			t.Fatalf("trial %d: qkx2Sums differs", trial)
		}
		var q1, q2 [3][lanes]float32
		withLanes(true, func() { qxSums(&isc, &b, &la1, n, nmax, &q1) })
		qxSumsGo(&isc, &b, &la2, n, nmax, &q2)
		if la1 != la2 || q1 != q2 {
			t.Fatalf("trial %d: qxSums differs", trial)
		}
		for _, mad := range []bool{false, true} {
			var e1, e2 [lanes]float32
			withLanes(true, func() { qkx2Err(&ts, &tm, &b, &b.la, n, mad, &e1) })
			qkx2ErrGo(&ts, &tm, &b, &b.la, n, mad, &e2)
			if e1 != e2 {
				t.Fatalf("trial %d mad %v: qkx2Err differs: %v vs %v", trial, mad, e1, e2)
			}
		}
	}
}

// TestGoldenTensorsPortable repeats the golden comparison with the lane
// search off, so both paths are held to llama-quantize's bytes.
func TestGoldenTensorsPortable(t *testing.T) {
	withLanes(false, func() { TestGoldenTensors(t) })
}

// FuzzLanes: arbitrary float bits give the same bytes through the lane
// search and the portable one.
func FuzzLanes(f *testing.F) {
	f.Add(uint8(0), bytes.Repeat([]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0}, 128))
	f.Add(uint8(1), bytes.Repeat([]byte{0xff, 0xff, 0x7f, 0x7f, 0, 0, 0x80, 0x7f}, 128))
	types := []gguf.Type{gguf.TypeQ2_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeMXFP4}
	f.Fuzz(func(t *testing.T, ti uint8, data []byte) {
		typ := types[int(ti)%len(types)]
		n := len(data) / 4 / 256 * 256
		x := make([]float32, n)
		for i := range x {
			x[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		want := make([]byte, typ.RowSize(int64(n)))
		got := make([]byte, len(want))
		withLanes(false, func() { quantizeNoErr(t, typ, want, x) })
		withLanes(true, func() { quantizeNoErr(t, typ, got, x) })
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: lane search differs", typ)
		}
	})
}
