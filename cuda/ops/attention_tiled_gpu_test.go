//go:build cuda

package ops

import (
	"math"
	"testing"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
)

// TestAttentionTiledGPU compares attention_f16_tiled (AttentionTiledEnv)
// with the twin on random inputs: GQA, sinks, sliding windows, a ring that
// wraps, partial last blocks, chunks after a cached prefix.
func TestAttentionTiledGPU(t *testing.T) {
	t.Setenv(AttentionTiledEnv, "1")
	e := newEnv(t)
	cases := []struct {
		name              string
		nTok, pos0, nh, g int // g: kv heads
		window, cells     int
		sinks             bool
	}{
		{"prefill gqa sinks window", 100, 0, 16, 2, 128, 0, true},
		{"prefill 512 full", 512, 0, 8, 1, 0, 0, true},
		{"chunk after prefix, no sinks", 64, 300, 8, 8, 0, 0, false},
		{"ring window wraps", 70, 400, 8, 2, 128, 128 + 70, true},
		{"short window", 33, 10, 4, 1, 8, 0, false},
		{"16 tokens", 16, 5, 64, 8, 128, 0, true},
	}
	for _, c := range cases {
		const d = 64
		p := cputwin.AttentionParams{
			QTokStride: c.nh * d, QHeadStride: d, KPosStride: c.g * d, KHeadStride: d, VPosStride: c.g * d, VHeadStride: d,
			OTokStride: c.nh * d, OHeadStride: d, NTok: c.nTok, NHead: c.nh, NHeadKV: c.g, DK: d, DV: d,
			Pos0: c.pos0, Window: c.window, Cells: c.cells, Scale: float32(1 / math.Sqrt(d)),
		}
		rows := p.CacheRows()
		q := e.floats(c.nTok*p.QTokStride, 1)
		kh, k := halves(e.floats(rows*p.KPosStride, 1))
		vh, v := halves(e.floats(rows*p.VPosStride, 1))
		var sinks []float32
		var ds cuda.DevicePtr
		if c.sinks {
			sinks = e.floats(c.nh, 3)
			ds = e.dev(sinks)
		}
		want := cputwin.Attention(p, q, k, v, sinks)
		out := e.out(len(want))
		e.k.StartProfile()
		if err := e.k.Attention(nil, p, e.dev(q), e.devH(kh), e.devH(vh), ds, out); err != nil {
			t.Fatal(err)
		}
		prof, err := e.k.StopProfile()
		if err != nil {
			t.Fatal(err)
		}
		if len(prof.Entries) != 1 || prof.Entries[0].Name != "attention_f16_tiled" {
			t.Fatalf("%s: ran %+v, want attention_f16_tiled", c.name, prof.Entries)
		}
		e.compare("attention_f16_tiled "+c.name, e.read(out, len(want)), want, 2e-5)
	}
}
