package convert

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Reference F32->F16 rounding through float64 arithmetic: find the nearest
// half by exhaustive comparison of neighbours.
func refF16(f float32) uint16 {
	if math.IsNaN(float64(f)) {
		return 0x7e00
	}
	best := uint16(0)
	bestErr := math.Inf(1)
	sign := uint16(0)
	x := float64(f)
	if math.Signbit(x) {
		sign = 0x8000
		x = -x
	}
	if x >= 65520 {
		return sign | 0x7c00
	}
	// Binary search over positive halves, which are ordered like their bits.
	lo, hi := uint16(0), uint16(0x7bff)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if float64(f16ToF32(mid)) <= x {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	for _, c := range []uint16{lo, lo + 1} {
		if c > 0x7c00 {
			continue
		}
		e := math.Abs(float64(f16ToF32(c)) - x)
		if e < bestErr || (e == bestErr && c&1 == 0) {
			best, bestErr = c, e
		}
	}
	return sign | best
}

func TestF32ToF16(t *testing.T) {
	cases := []float32{0, 1, -1, 65504, 65519.99, 65520, 1e-8, 2.98e-8, 5.96e-8, 6.1e-5, 6.09e-5, 0.1, 1.0009765625, 1.00048828125, 1.00146484375}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		cases = append(cases, math.Float32frombits(r.Uint32()&^0x40000000|0x30000000*uint32(r.IntN(2))))
		cases = append(cases, float32(r.NormFloat64()*math.Pow(10, float64(r.IntN(12)-8))))
	}
	for _, f := range cases {
		if math.IsNaN(float64(f)) {
			continue
		}
		if got, want := f32ToF16(f), refF16(f); got != want {
			t.Fatalf("f32ToF16(%g = %#x) = %#x, want %#x", f, math.Float32bits(f), got, want)
		}
	}
	// Every half round-trips.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			continue
		}
		if got := f32ToF16(f16ToF32(uint16(h))); got != uint16(h) {
			t.Fatalf("round trip %#x -> %g -> %#x", h, f16ToF32(uint16(h)), got)
		}
	}
}

func TestBF16(t *testing.T) {
	for _, c := range []struct {
		f    float32
		want uint16
	}{{1, 0x3f80}, {-2, 0xc000}, {math.Float32frombits(0x3f808000), 0x3f80}, {math.Float32frombits(0x3f818000), 0x3f82}, {math.Float32frombits(0x3f808001), 0x3f81}} {
		if got := f32ToBF16(c.f); got != c.want {
			t.Errorf("f32ToBF16(%#x) = %#x, want %#x", math.Float32bits(c.f), got, c.want)
		}
	}
}

func TestE4M3(t *testing.T) {
	for _, c := range []struct {
		b    byte
		want float32
	}{{0x00, 0}, {0x38, 1}, {0xb8, -1}, {0x7e, 448}, {0x01, 1.0 / 512}, {0x08, 1.0 / 64}, {0x40, 2}} {
		if got := e4m3ToF32(c.b); got != c.want {
			t.Errorf("e4m3(%#x) = %g, want %g", c.b, got, c.want)
		}
	}
	if !math.IsNaN(float64(e4m3ToF32(0x7f))) {
		t.Error("0x7f must be NaN")
	}
}
