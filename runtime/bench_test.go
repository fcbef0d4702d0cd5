package runtime

import (
	"os"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// BenchmarkModel measures prefill (64 tokens) and decode (one token after
// 64) of the GGUF named by $GGUFTOOL_BENCH_MODEL, e.g. a `gguftool synth`
// model of a few GB. Skipped when unset.
func BenchmarkModel(b *testing.B) {
	path := os.Getenv("GGUFTOOL_BENCH_MODEL")
	if path == "" {
		b.Skip("set GGUFTOOL_BENCH_MODEL to a GGUF file")
	}
	f, err := gguf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	m, err := Load(f, Options{})
	if err != nil {
		b.Fatal(err)
	}
	prompt := make([]int32, 64)
	for i := range prompt {
		prompt[i] = int32(1 + i*7%(m.NVocab-1))
	}
	b.Run("prefill64", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.NewSession(128).Eval(prompt, false); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(prompt)*b.N)/b.Elapsed().Seconds(), "tok/s")
	})
	b.Run("decode", func(b *testing.B) {
		s := m.NewSession(0)
		if _, err := s.Eval(prompt[:8], false); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Eval([]int32{5}, false); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
	})
}
