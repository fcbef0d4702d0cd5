package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFP16Exhaustive checks every half: decoding agrees with the binary16
// definition (m·2^(e-25) or subnormal m·2^-24), encoding the decoded value
// gives the half back, and the midpoint to the next half rounds to even.
func TestFP16Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		e, m := h>>10&0x1f, h&0x3ff
		f := FP16ToFP32(uint16(h))
		if e == 0x1f {
			if m == 0 != math.IsInf(float64(f), 0) {
				t.Fatalf("%#04x decodes to %v", h, f)
			}
			continue
		}
		var want float64
		if e == 0 {
			want = float64(m) * math.Pow(2, -24)
		} else {
			want = float64(m|0x400) * math.Pow(2, float64(e-25))
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if float64(f) != want {
			t.Fatalf("%#04x decodes to %v, want %v", h, f, want)
		}
		if got := FP32ToFP16(f); got != uint16(h) {
			t.Fatalf("FP32ToFP16(%v) = %#04x, want %#04x", f, got, h)
		}
		if h&0x7fff == 0x7bff { // the largest finite: the next is infinity
			continue
		}
		next := float64(FP16ToFP32(uint16(h + 1)))
		mid := float32((float64(f) + next) / 2) // exact in float32
		wantMid := uint16(h)
		if h&1 == 1 {
			wantMid = uint16(h + 1)
		}
		if got := FP32ToFP16(mid); got != wantMid {
			t.Fatalf("midpoint %v between %#04x and %#04x → %#04x, want %#04x (ties to even)", mid, h, h+1, got, wantMid)
		}
	}
}

// TestFP16Nearest compares random float32s with the nearest half found
// by search in float64.
func TestFP16Nearest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		f := math.Float32frombits(r.Uint32())
		if math.IsNaN(float64(f)) {
			if got := FP32ToFP16(f); got&0x7fff != 0x7e00 {
				t.Fatalf("NaN %#08x → %#04x", math.Float32bits(f), got)
			}
			continue
		}
		got := FP32ToFP16(f)
		a := math.Abs(float64(f))
		if a >= 65520 {
			if got&0x7fff != 0x7c00 {
				t.Fatalf("%v → %#04x, want inf", f, got)
			}
			continue
		}
		g := math.Abs(float64(FP16ToFP32(got)))
		// No other half is strictly nearer, and at a tie the even one wins.
		for _, nb := range []uint16{got&0x7fff - 1, got&0x7fff + 1} {
			if nb > 0x7bff {
				continue
			}
			o := float64(FP16ToFP32(nb))
			if math.Abs(o-a) < math.Abs(g-a) || math.Abs(o-a) == math.Abs(g-a) && got&1 == 1 {
				t.Fatalf("%v → %#04x (%v), but %#04x (%v) is nearer or even", f, got, g, nb, o)
			}
		}
	}
	if got := FP32ToFP16(65519.99); got != 0x7bff {
		t.Errorf("65519.99 → %#04x", got)
	}
	if got := FP32ToFP16(65520); got != 0x7c00 {
		t.Errorf("65520 → %#04x", got)
	}
	if got := FP32ToFP16(float32(math.Pow(2, -25))); got != 0 {
		t.Errorf("2^-25 → %#04x, want 0 (tie to even)", got)
	}
	if got := FP32ToFP16(float32(math.Pow(2, -25) * 1.5)); got != 1 {
		t.Errorf("1.5·2^-25 → %#04x, want 1", got)
	}
}

func TestBF16(t *testing.T) {
	cases := []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81},
		{0x7f800000, 0x7f80}, // inf
		{0x7f800001, 0x7fc0}, // signalling NaN made quiet
		{0xff7fffff, 0xff80}, // -max rounds to -inf
	}
	for _, c := range cases {
		if got := FP32ToBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("FP32ToBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	if BF16ToFP32(0x3f80) != 1 {
		t.Error("BF16ToFP32(0x3f80) != 1")
	}
}
