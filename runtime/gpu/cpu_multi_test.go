//go:build linux

package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/runtime/kernels"
)

// tokensMatMul is the former path of an expert used by several tokens:
// kernels.MatMul per whole matrix (its own goroutines) for expert e's m
// tokens xs (m·d) into y (m·d); gt and up (m·ff) are scratch.
func (em *cpuExpertMats) tokensMatMul(e int, xs []float32, m int, gt, up, y []float32) {
	d, ff := em.d, em.ff
	mat := func(i, rows int) kernels.Mat { return em.mats[i].RowRange(e*rows, (e+1)*rows) }
	kernels.MatMul(gt, mat(0, ff), xs, m)
	kernels.MatMul(up, mat(1, ff), xs, m)
	if b := em.bias[0]; b != nil {
		addRows(gt, b[e*ff:(e+1)*ff], m)
	}
	if b := em.bias[1]; b != nil {
		addRows(up, b[e*ff:(e+1)*ff], m)
	}
	em.act(gt, up)
	kernels.MatMul(y, mat(2, d), gt, m)
	if b := em.bias[2]; b != nil {
		addRows(y, b[e*d:(e+1)*d], m)
	}
}

// multiTokensMatMul is the former cpuExperts loop over experts of several
// tokens (the pool's workers parked first, one tokensMatMul per expert), on
// multiTokens' layout: the reference and the benchmark's baseline.
func (em *cpuExpertMats) multiTokensMatMul(es []int32, ms []int, xs, gt, up, y []float32) {
	d, ff := em.d, em.ff
	cpuJobs.park()
	o := 0
	for i, e := range es {
		m := ms[i]
		em.tokensMatMul(int(e), xs[o*d:(o+m)*d], m, gt[o*ff:(o+m)*ff], up[o*ff:(o+m)*ff], y[o*d:(o+m)*d])
		o += m
	}
}

// TestMultiTokensMatchesMatMul checks the pooled several-token expert path
// against the former one: bit for bit against one-thread kernels.MatMul
// (over token counts of the fused, ≤ 8, and tiled paths, activations,
// biases, runner counts and job sizes), and within float32 rounding
// against a three-thread one whose chunks (406 rows) cut the kernels'
// row groups elsewhere.
func TestMultiTokensMatchesMatMul(t *testing.T) {
	defer kernels.SetThreads(kernels.SetThreads(runtime.GOMAXPROCS(0)))
	defer func(v int) { cpuJobBytes = v }(cpuJobBytes)
	const nExp, d, ff = 6, 640, 1216
	for _, glu := range []cputwin.GLUMode{cputwin.SwiGLU, cputwin.SwiGLUOAI} {
		for _, bias := range []bool{false, true} {
			em := testExpertMats(t, nExp, d, ff, glu, bias)
			r := rand.New(rand.NewPCG(8, 8))
			for _, counts := range [][]int{{2}, {3, 2}, {4, 5, 8}, {9, 2, 16, 3}, {11, 32}, {2, 2, 2, 2, 2, 2}} {
				k, tokens := len(counts), 0
				for _, m := range counts {
					tokens += m
				}
				es := make([]int32, k)
				for i, e := range r.Perm(nExp)[:k] {
					es[i] = int32(e)
				}
				xs := randVec(r, tokens*d, 1)
				ref := func(threads int) []float32 {
					defer kernels.SetThreads(kernels.SetThreads(threads))
					y := make([]float32, tokens*d)
					em.multiTokensMatMul(es, counts, xs, make([]float32, tokens*ff), make([]float32, tokens*ff), y)
					return y
				}
				y1, y3 := ref(1), ref(3)
				for _, runners := range []int{1, 2, 3, 7} {
					for _, jb := range []int{1, 64 << 10, 1 << 30} {
						cpuJobBytes = jb
						y := make([]float32, tokens*d)
						em.multiTokens(es, counts, xs, make([]float32, tokens*ff), make([]float32, tokens*ff), y, runners)
						for i := range y {
							if math.Float32bits(y[i]) != math.Float32bits(y1[i]) {
								t.Fatalf("glu %d bias %v tokens %v runners=%d job %d B: y[%d] = %v, one-thread MatMul gives %v", glu, bias, counts, runners, jb, i, y[i], y1[i])
							}
						}
					}
				}
				var scale, worst float64
				for i := range y1 {
					scale = max(scale, math.Abs(float64(y3[i])))
					worst = max(worst, math.Abs(float64(y1[i])-float64(y3[i])))
				}
				if worst > 1e-5*scale {
					t.Errorf("glu %d bias %v tokens %v: three-thread MatMul differs by %.3g (scale %.3g)", glu, bias, counts, worst, scale)
				}
			}
		}
	}
}

// BenchmarkCPUExpertsMulti measures experts used by several tokens of a
// batch (short prompts: 16 tokens pick ~28 of gpt-oss-20b's 32 experts,
// 2–3 tokens each) as BenchmarkCPUExperts measures decode's: k experts of
// gpt-oss-20b's shape (MXFP4 2880×2880, 13.2 MB each) with m tokens each,
// from memory not in cache, in the same run as
//
//	read: the bandwidth ceiling over as many bytes (a sum of uint64s)
//	old:  the former path, kernels.MatMul per matrix per expert (forks)
//	new:  multiTokens, the pool's jobs of row blocks × all tokens
//	m=1 pool: singleTokens, decode's path, the per-expert base cost
//
// new and pool run on expertRunners() (one core left to the GPU's
// queuing), /runners=all on every core as old does, and new/queue=100µs
// as the executor runs it: on expertRunners() while the caller spends
// 100 µs (queuing the GPU's share), then on the caller's core too
// (jobPool.help). Metrics: MB/s of
// weights, µs/expert, and for new µs/extra-token: (µs/expert − the same
// k's m=1 pool µs/expert on as many runners)/(m−1), what the cost model's
// per-extra-token estimate is; prior-µs/expert (pool) and
// prior-µs/extra-token (new) are the cost model's CPU prior for this shape
// as the executor times it at start (cpu_prior.go), to compare.
//
//	gunzip -c bin/cpumulti/gpu.test.gz > /tmp/cm.test && chmod +x /tmp/cm.test && cd runtime/gpu && /tmp/cm.test -test.run '^$' -test.bench 'BenchmarkCPUExpertsMulti' -test.benchtime 100x
func BenchmarkCPUExpertsMulti(b *testing.B) {
	s := loadCPUExpertBench(b)
	base := map[string]float64{} // µs/expert of m=1 by k and runners (this run)
	// The cost model's CPU prior for this shape on this machine, as the
	// executor measures it at start (cpu_prior.go), over experts this
	// run's first variants will not have left in cache.
	prior := measureCPUPrior(s.em, s.slots, expertRunners())
	for _, k := range []int{1, 2, 4, 8} {
		for _, m := range []int{1, 2, 3, 8, 32} {
			methods := []string{"read", "old", "new", "new/runners=all", "new/queue=100µs"}
			if m == 1 {
				methods = []string{"read", "pool", "pool/runners=all"}
			}
			for _, method := range methods {
				b.Run(fmt.Sprintf("k=%d/m=%d/%s", k, m, method), func(b *testing.B) {
					runners := expertRunners()
					if strings.HasSuffix(method, "/runners=all") {
						runners = kernels.Threads()
					}
					us := s.benchMulti(b, strings.TrimSuffix(method, "/runners=all"), k, m, runners)
					if method == "new/queue=100µs" {
						return
					}
					key := fmt.Sprint(k, runners)
					if m == 1 && method != "read" {
						base[key] = us
					}
					if m > 1 && method != "read" && method != "old" && base[key] > 0 {
						b.ReportMetric((us-base[key])/float64(m-1), "µs/extra-token")
					}
					switch method {
					case "pool":
						b.ReportMetric(prior.first*1e6, "prior-µs/expert")
					case "new":
						b.ReportMetric(prior.extra*1e6, "prior-µs/extra-token")
					}
				})
			}
		}
	}
}

// benchMulti times one variant of BenchmarkCPUExpertsMulti and returns
// its µs per expert.
func (s *cpuExpertBench) benchMulti(b *testing.B, method string, k, m, runners int) float64 {
	em := s.em
	d, ff := em.d, em.ff
	expertBytes := int64(len(em.mats[0].Data)+len(em.mats[1].Data)+len(em.mats[2].Data)) / int64(s.slots)
	r := rand.New(rand.NewPCG(6, 6))
	perm := r.Perm(s.slots)
	xs := randVec(r, k*m*d, 1)
	xv := make([][]float32, k) // m=1: one token per expert
	for i := range xv {
		xv[i] = xs[i*d : (i+1)*d]
	}
	gt, up, y := make([]float32, k*m*ff), make([]float32, k*m*ff), make([]float32, k*m*d)
	es := make([]int32, k)
	ms := make([]int, k)
	for i := range ms {
		ms[i] = m
	}
	flatRows := 3 * k * ff // the same bytes as k experts
	runs := s.flat.Rows / flatRows
	sums := make([]uint64, runtime.GOMAXPROCS(0))
	var it int
	var busy time.Duration
	b.ResetTimer()
	for b.Loop() {
		for i := range es {
			es[i] = int32(perm[(it*k+i)%s.slots])
		}
		q := it % runs
		it++
		start := time.Now()
		switch method {
		case "read":
			sumWords(s.flat.Data[q*flatRows*s.flat.RowBytes():(q+1)*flatRows*s.flat.RowBytes()], sums)
		case "old":
			em.multiTokensMatMul(es, ms, xs, gt, up, y)
		case "new":
			em.multiTokens(es, ms, xs, gt, up, y, runners)
		case "new/queue=100µs":
			// As hybridExperts runs it: on expertRunners() while this
			// goroutine queues the GPU's share (100 µs busy here), which
			// then helps.
			done := make(chan struct{})
			go func() {
				defer close(done)
				em.multiTokens(es, ms, xs, gt, up, y, runners)
			}()
			for t := time.Now(); time.Since(t) < 100*time.Microsecond; {
			}
			cpuJobs.help(done)
		case "pool":
			em.singleTokens(es, xv, gt, up, y, runners)
		}
		busy += time.Since(start)
	}
	sec := busy.Seconds() / float64(b.N)
	b.ReportMetric(float64(expertBytes)*float64(k)/sec/1e6, "MB/s")
	b.ReportMetric(sec*1e6/float64(k), "µs/expert")
	return sec * 1e6 / float64(k)
}

// TestCPUPrior: the CPU prior is the timed paths' cost: positive and
// finite, marked as timed, with no samples. Its size is a timing on a
// shared machine (CI saw an extra token cost more than two first ones
// under load), so only a gross error fails: an extra token dearer than
// ten first ones, or a second timing 20× off.
func TestCPUPrior(t *testing.T) {
	const nExp = 16
	em := testExpertMats(t, nExp, 640, 1216, cputwin.SwiGLUOAI, true)
	p := measureCPUPrior(em, nExp, expertRunners())
	if !(p.first > 0 && p.extra > 0 && p.extra < 10*p.first) || math.IsInf(p.first, 0) || !p.timed || p.nFirst != 0 || p.nExtra != 0 {
		t.Fatalf("prior %+v", p)
	}
	q := measureCPUPrior(em, nExp, expertRunners())
	if r := q.first / p.first; r < 1.0/20 || r > 20 {
		t.Errorf("per expert %.3g s, then %.3g s", p.first, q.first)
	}
	// Fewer experts than the batches want: still measured.
	if s := measureCPUPrior(em, 1, 1); !(s.first > 0) {
		t.Errorf("one expert: prior %+v", s)
	}
}

// TestJobPoolHelp: help joins an open batch (here the only other runner:
// job 0 finishes only after the other jobs ran elsewhere), runs every job
// once, ignores closed batches and returns when done closes.
func TestJobPoolHelp(t *testing.T) {
	const n = 50
	for round := range 5 {
		var counts [n]atomic.Int32
		var finished atomic.Int32
		done := make(chan struct{})
		helped := make(chan struct{})
		go func() {
			cpuJobs.help(done)
			close(helped)
		}()
		cpuJobs.run(8, 1, func(int) {}) // closed: the caller runs it alone
		cpuJobs.runOpen(n, 1, func(j int) {
			if j == 0 {
				var s spinner
				for t0 := time.Now(); finished.Load() < n-1; s.spin() {
					if time.Since(t0) > 5*time.Second {
						t.Errorf("round %d: job 0 waited 5 s: nobody helped (%d of %d finished)", round, finished.Load(), n-1)
						break
					}
				}
			}
			counts[j].Add(1)
			finished.Add(1)
		})
		close(done)
		<-helped
		for j := range counts {
			if c := counts[j].Load(); c != 1 {
				t.Fatalf("round %d: job %d ran %d times", round, j, c)
			}
		}
	}
}
