package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gguftool/gguftool/runtime"
)

// TestSampleTokenMatchesSampler: the top-k shortcut picks the same tokens
// as the runtime's sampler on the whole vocabulary, ties included.
func TestSampleTokenMatchesSampler(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		temp float64
		k    int
		p    float64
	}{{0.8, 40, 0.95}, {1.5, 5, 1}, {0.7, 1, 0.9}, {1, 200, 0.5}, {0, 40, 0.95}, {0.8, 0, 0.95}} {
		a, b := runtime.NewSampler(c.temp, c.k, c.p, 7), runtime.NewSampler(c.temp, c.k, c.p, 7)
		for trial := 0; trial < 50; trial++ {
			l := make([]float32, 3000)
			for i := range l {
				l[i] = float32(rng.NormFloat64() * 3)
				if rng.IntN(10) == 0 { // many exact ties
					l[i] = float32(rng.IntN(4))
				}
			}
			if got, want := sampleToken(a, l), b.Sample(l); got != want {
				t.Fatalf("%+v trial %d: got %d, sampler %d", c, trial, got, want)
			}
		}
	}
}

// BenchmarkSampleToken compares the shortcut with the sampler on a
// gpt-oss-sized vocabulary (top-k 40, top-p 0.95, temp 0.8).
func BenchmarkSampleToken(b *testing.B) {
	l := make([]float32, 201088)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range l {
		l[i] = float32(rng.NormFloat64() * 3)
	}
	for _, fast := range []bool{false, true} {
		name := "sampler"
		if fast {
			name = "top-k heap"
		}
		b.Run(name, func(b *testing.B) {
			s := runtime.NewSampler(0.8, 40, 0.95, 1)
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if fast {
					sampleToken(s, l)
				} else {
					s.Sample(l)
				}
			}
			b.ReportMetric(time.Since(start).Seconds()*1000/float64(b.N), "ms/token")
		})
	}
}
