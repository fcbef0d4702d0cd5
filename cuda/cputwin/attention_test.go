package cputwin

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gguftool/gguftool/quant"
)

// TestFloat32ToHalf checks the encoder against ggml's reference conversion
// (quant.FP32ToFP16) on every half value, the midpoints between neighbours
// (ties to even) and random float32s, and that every finite half
// round-trips through HalfToFloat32.
func TestFloat32ToHalf(t *testing.T) {
	check := func(f float32) {
		t.Helper()
		got, want := Float32ToHalf(f), quant.FP32ToFP16(f)
		if f != f { // NaN: any NaN encoding
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
				t.Fatalf("NaN → %#04x", got)
			}
			return
		}
		if got != want {
			t.Fatalf("Float32ToHalf(%g = %#08x) = %#04x, reference %#04x", f, math.Float32bits(f), got, want)
		}
	}
	for h := 0; h < 1<<16; h++ {
		f := HalfToFloat32(uint16(h))
		if h&0x7c00 != 0x7c00 && Float32ToHalf(f) != uint16(h) && !(f == 0 && h == 0x8000) {
			t.Fatalf("half %#04x → %g → %#04x", h, f, Float32ToHalf(f))
		}
		check(f)
		if h&0x7fff < 0x7bff { // the midpoint to the next half of larger magnitude
			g := HalfToFloat32(uint16(h + 1))
			check(float32((float64(f) + float64(g)) / 2))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		check(math.Float32frombits(rng.Uint32()))
	}
}

// TestAttentionRing: with a ring cache of window + batch cells, attention
// over the ring equals attention over the whole history, for a batch that
// wraps the ring.
func TestAttentionRing(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const dk, window, n, pos0 = 8, 5, 4, 17
	cells := window + n
	full := make([]float32, (pos0+n)*dk)
	for i := range full {
		full[i] = HalfToFloat32(Float32ToHalf(2*rng.Float32() - 1))
	}
	ring16 := make([]uint16, cells*dk)
	KVStore(full, dk, ring16, dk, dk, pos0+n, 0, cells)
	ring := make([]float32, len(ring16))
	for i, h := range ring16 {
		ring[i] = HalfToFloat32(h)
	}
	q := make([]float32, n*dk)
	for i := range q {
		q[i] = rng.Float32()
	}
	p := AttentionParams{QTokStride: dk, KPosStride: dk, VPosStride: dk, OTokStride: dk,
		NTok: n, NHead: 1, NHeadKV: 1, DK: dk, DV: dk, Pos0: pos0, Window: window, Scale: 0.3}
	want := Attention(p, q, full, full, nil)
	p.Cells = cells
	got := Attention(p, q, ring, ring, nil)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("output %d: ring %g, full %g", i, got[i], want[i])
		}
	}
}
