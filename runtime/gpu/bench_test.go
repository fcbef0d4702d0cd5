//go:build cuda

package gpu

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/runtime"
)

// The hybrid benchmarks run a real-size model named by
// GGUFTOOL_BENCH_MODEL (e.g. `gguftool synth --preset gpt-oss-20b`) three
// ways in the same process: CPU only (the baseline), experts in CPU memory
// with everything else on the GPU, and all on the GPU.
//
//	GGUFTOOL_BENCH_MODEL=g.gguf runtime-gpu.test -test.run '^$' -test.bench Hybrid -test.benchtime 16x
func benchModel(b *testing.B) *gguf.File {
	path := os.Getenv("GGUFTOOL_BENCH_MODEL")
	if path == "" {
		b.Skip("GGUFTOOL_BENCH_MODEL not set")
	}
	f, err := gguf.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

var benchPlacements = []struct {
	name string
	gpuE int // experts per stacked tensor on the GPU; -1: no GPU at all
}{{"cpu", -1}, {"experts-cpu", 0}, {"all-gpu", 1 << 30}}

func loadPlaced(b *testing.B, f *gguf.File, gpuE int) (*runtime.Model, *Backend) {
	if gpuE < 0 {
		m, err := runtime.Load(f, runtime.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return m, nil
	}
	be, err := New(0)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	m, err := runtime.Load(f, runtime.Options{Placement: hybrid(gpuE), Backends: []runtime.Backend{be}})
	if err != nil {
		be.Close()
		b.Fatal(err)
	}
	used, _ := be.MemoryUsed()
	fmt.Printf("BENCHLOAD %s: %.2f GB of weights uploaded in %.1f s, VRAM used %.2f GB (context not included)\n",
		f.Path(), float64(be.WeightBytes())/1e9, time.Since(start).Seconds(), float64(used)/1e9)
	return m, be
}

func benchPrompt(n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(1 + (i*7919)%1000)
	}
	return p
}

// BenchmarkHybridDecode: one op = one generated token after a 16-token prompt.
func BenchmarkHybridDecode(b *testing.B) {
	f := benchModel(b)
	for _, pl := range benchPlacements {
		b.Run(pl.name, func(b *testing.B) {
			m, be := loadPlaced(b, f, pl.gpuE)
			if be != nil {
				defer be.Close()
			}
			s := m.NewSession(16 + b.N + 1)
			logits, err := s.Eval(benchPrompt(16), false)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if logits, err = s.Eval([]int32{int32(argmax(logits))}, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// BenchmarkHybridPrefill: one op = a 128-token prompt in a fresh session.
func BenchmarkHybridPrefill(b *testing.B) {
	f := benchModel(b)
	const n = 128
	for _, pl := range benchPlacements {
		b.Run(pl.name, func(b *testing.B) {
			m, be := loadPlaced(b, f, pl.gpuE)
			if be != nil {
				defer be.Close()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.NewSession(n).Eval(benchPrompt(n), false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}

// BenchmarkGPTOSSExecutor runs the gpt-oss GPU executor on the benchmark
// model: experts streamed from host memory (staging for all experts, or for
// 4 per layer) and experts resident on the GPU. decode: one op = one token
// after a 16-token prompt, 4096-position GPU cache; pp512: one op = a
// 512-token prompt.
func BenchmarkGPTOSSExecutor(b *testing.B) {
	f := benchModel(b)
	m, err := runtime.Load(f, runtime.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		o    Options
	}{{"streamed", Options{}}, {"streamed-stage4", Options{StagingExperts: 4}}, {"experts-gpu", Options{ExpertsOnGPU: true}}} {
		be, err := New(0)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		g, err := NewGPTOSS(m, be, mode.o)
		if err != nil {
			be.Close()
			b.Fatal(err)
		}
		load := time.Since(start)
		s, err := g.NewSession(4096)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Eval(benchPrompt(16), false); err != nil {
			b.Fatal(err)
		}
		free, total, _ := be.ctx.MemInfo()
		fmt.Printf("EXECLOAD %s %s: ready in %.1f s; weights %.2f GB, KV cache %.2f GB (4096 positions); GPU memory in use (cuMemGetInfo, context included) %.2f GB = %d MiB\n",
			f.Path(), mode.name, load.Seconds(), float64(be.WeightBytes())/1e9, float64(s.KVBytes())/1e9, float64(total-free)/1e9, (total-free)>>20)
		b.Run(mode.name+"/decode", func(b *testing.B) {
			logits, err := s.Eval([]int32{7}, false)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if s.pos >= 4096-1 {
					b.Skip("cache full")
				}
				if logits, err = s.Eval([]int32{int32(argmax(logits))}, false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
		b.Run(mode.name+"/pp512", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ps, err := g.NewSession(512)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := ps.Eval(benchPrompt(512), false); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				ps.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.N*512)/b.Elapsed().Seconds(), "tok/s")
		})
		s.Close()
		g.Close()
		be.Close()
	}
}
