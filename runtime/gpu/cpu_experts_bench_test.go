//go:build linux

package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/quant"
	"github.com/gguftool/gguftool/runtime/kernels"
)

// singleTokensSpawn is singleTokens as it was before the worker pool (one
// goroutine fork per phase, the activation serial between the phases),
// kept as the reference the pool is checked against bit for bit and the
// baseline BenchmarkCPUExperts times it against.
func (em *cpuExpertMats) singleTokensSpawn(es []int32, xs [][]float32, gt, up, y []float32) {
	d, ff := em.d, em.ff
	bg := matVecRows(d)
	nbg := (ff + bg - 1) / bg
	spawnJobs(2*len(es)*nbg, func(j int) {
		i, m, k := j/(2*nbg), (j/nbg)%2, j%nbg
		r0, r1 := k*bg, min((k+1)*bg, ff)
		e := int(es[i])
		dst := gt
		if m == 1 {
			dst = up
		}
		kernels.MatVec(dst[i*ff+r0:i*ff+r1], em.mats[m].RowRange(e*ff+r0, e*ff+r1), xs[i])
	})
	for i, e := range es {
		ei := int(e)
		gi, ui := gt[i*ff:(i+1)*ff], up[i*ff:(i+1)*ff]
		if b := em.bias[0]; b != nil {
			kernels.Add(gi, b[ei*ff:(ei+1)*ff])
		}
		if b := em.bias[1]; b != nil {
			kernels.Add(ui, b[ei*ff:(ei+1)*ff])
		}
		em.act(gi, ui)
	}
	bd := matVecRows(ff)
	nbd := (d + bd - 1) / bd
	spawnJobs(len(es)*nbd, func(j int) {
		i, k := j/nbd, j%nbd
		r0, r1 := k*bd, min((k+1)*bd, d)
		e := int(es[i])
		kernels.MatVec(y[i*d+r0:i*d+r1], em.mats[2].RowRange(e*d+r0, e*d+r1), gt[i*ff:(i+1)*ff])
	})
	if b := em.bias[2]; b != nil {
		for i, e := range es {
			kernels.Add(y[i*d:(i+1)*d], b[int(e)*d:(int(e)+1)*d])
		}
	}
}

// spawnJobs is the former parallelJobs: Threads()−1 goroutines forked per
// call, each taking the next job.
func spawnJobs(n int, fn func(j int)) {
	workers := min(max(kernels.Threads()-1, 1), n)
	if workers <= 1 {
		for j := 0; j < n; j++ {
			fn(j)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := int(next.Add(1) - 1); j < n; j = int(next.Add(1) - 1) {
				fn(j)
			}
		}()
	}
	wg.Wait()
}

// expertWeights fills data with MXFP4 rows of cols columns quantized from
// random values (realistic block scales: no denormal or infinite products
// to slow the kernels), 64 distinct rows repeated.
func expertWeights(t testing.TB, data []byte, cols int, seed uint64) {
	t.Helper()
	const tile = 64
	r := rand.New(rand.NewPCG(seed, 7))
	src := make([]float32, tile*cols)
	for i := range src {
		src[i] = float32(r.NormFloat64() * 0.05)
	}
	one := make([]byte, tile*int(gguf.TypeMXFP4.RowSize(int64(cols))))
	if err := quant.Quantize(gguf.TypeMXFP4, one, src); err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(data); off += len(one) {
		copy(data[off:], one)
	}
}

func randVec(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64() * scale)
	}
	return v
}

// testExpertMats builds nExp experts of d×ff in memory, each row
// distinct (the 64-row pattern of expertWeights is shifted per matrix and
// its blocks' scales perturbed), with biases when bias is set.
func testExpertMats(t testing.TB, nExp, d, ff int, glu cputwin.GLUMode, bias bool) *cpuExpertMats {
	t.Helper()
	em := &cpuExpertMats{d: d, ff: ff, glu: glu, alpha: 1.702, limit: 7}
	r := rand.New(rand.NewPCG(3, 3))
	shapes := [3][2]int{{nExp * ff, d}, {nExp * ff, d}, {nExp * d, ff}}
	for m, sh := range shapes {
		rb := int(gguf.TypeMXFP4.RowSize(int64(sh[1])))
		data := make([]byte, sh[0]*rb)
		expertWeights(t, data, sh[1], uint64(m))
		for i := 0; i < len(data); i += 17 {
			data[i] = byte(120 + r.IntN(8)) // block scales 2^-7 … 2^0
			if r.IntN(4) == 0 {
				data[i+1+r.IntN(16)] = byte(r.Uint32())
			}
		}
		mat, err := kernels.NewMat(gguf.TypeMXFP4, sh[0], sh[1], data)
		if err != nil {
			t.Fatal(err)
		}
		em.mats[m] = mat
		if bias {
			em.bias[m] = randVec(r, sh[0], 0.5)
		}
	}
	return em
}

// TestSingleTokensMatchesSpawn checks the pooled single-token expert path
// against the former one, bit for bit, over expert counts, activations,
// biases, runner counts (more runners than cores too) and job sizes.
func TestSingleTokensMatchesSpawn(t *testing.T) {
	defer kernels.SetThreads(kernels.SetThreads(runtime.GOMAXPROCS(0)))
	defer func(v int) { cpuJobBytes = v }(cpuJobBytes)
	const nExp, d, ff = 6, 640, 1216 // row blocks of 102 and 53 rows, uneven last ones
	for _, glu := range []cputwin.GLUMode{cputwin.SwiGLU, cputwin.SwiGLUOAI} {
		for _, bias := range []bool{false, true} {
			em := testExpertMats(t, nExp, d, ff, glu, bias)
			r := rand.New(rand.NewPCG(5, 5))
			for k := 1; k <= 5; k++ {
				es := make([]int32, k)
				xs := make([][]float32, k)
				for i, e := range r.Perm(nExp)[:k] {
					es[i], xs[i] = int32(e), randVec(r, d, 1)
				}
				gt0, up0, y0 := make([]float32, k*ff), make([]float32, k*ff), make([]float32, k*d)
				em.singleTokensSpawn(es, xs, gt0, up0, y0)
				for _, runners := range []int{1, 2, 3, 7} {
					for _, jb := range []int{1, 64 << 10, 1 << 30} {
						cpuJobBytes = jb
						gt, up, y := make([]float32, k*ff), make([]float32, k*ff), make([]float32, k*d)
						em.singleTokens(es, xs, gt, up, y, runners)
						for i := range y {
							if math.Float32bits(y[i]) != math.Float32bits(y0[i]) {
								t.Fatalf("glu %d bias %v k=%d runners=%d job %d B: y[%d] = %v, the former path gives %v", glu, bias, k, runners, jb, i, y[i], y0[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestCPUExpertsMatchSpawn runs cpuExpertMats.singleTokens at gpt-oss-20b's
// shape (2880×2880, row blocks of 22 rows) against the former path.
func TestCPUExpertsMatchSpawn(t *testing.T) {
	if testing.Short() {
		t.Skip("53 MB of weights")
	}
	const nExp, d, ff, k = 4, 2880, 2880, 4
	em := testExpertMats(t, nExp, d, ff, cputwin.SwiGLUOAI, true)
	r := rand.New(rand.NewPCG(9, 9))
	es := []int32{2, 0, 3, 1}
	xs := make([][]float32, k)
	for i := range xs {
		xs[i] = randVec(r, d, 1)
	}
	y0, y := make([]float32, k*d), make([]float32, k*d)
	em.singleTokensSpawn(es, xs, make([]float32, k*ff), make([]float32, k*ff), y0)
	em.singleTokens(es, xs, make([]float32, k*ff), make([]float32, k*ff), y, 3)
	for i := range y {
		if math.Float32bits(y[i]) != math.Float32bits(y0[i]) {
			t.Fatalf("y[%d] = %v, the former path gives %v", i, y[i], y0[i])
		}
	}
}

// TestJobPool checks that every job of a batch runs exactly once, for
// runner counts above the cores, jobs that wait for earlier ones, batches
// back to back and after the workers parked.
func TestJobPool(t *testing.T) {
	defer poolSpin.Store(poolSpin.Swap(int64(time.Millisecond)))
	for round := range 40 {
		n, runners := 1+round*7%97, 1+round%9
		counts := make([]atomic.Int32, n)
		var finished atomic.Int32
		cpuJobs.run(n, runners, func(j int) {
			if j >= n/2 { // waits for the first half, as down jobs for gate/up
				var s spinner
				for finished.Load() < int32(n/2) {
					s.spin()
				}
			}
			counts[j].Add(1)
			if j < n/2 {
				finished.Add(1)
			}
		})
		for j := range counts {
			if c := counts[j].Load(); c != 1 {
				t.Fatalf("round %d (n=%d runners=%d): job %d ran %d times", round, n, runners, j, c)
			}
		}
		switch round % 10 {
		case 9:
			time.Sleep(3 * time.Millisecond) // the workers park
		case 4:
			cpuJobs.park()
		}
	}
	// park parks every idle worker long before poolSpin.
	poolSpin.Store(int64(time.Hour))
	cpuJobs.run(8, 4, func(int) {})
	cpuJobs.park()
	cpuJobs.mu.Lock()
	started := int32(cpuJobs.started)
	cpuJobs.mu.Unlock()
	for t0 := time.Now(); cpuJobs.parked.Load() != started; {
		if time.Since(t0) > 5*time.Second {
			t.Fatalf("%d of %d workers parked 5 s after park", cpuJobs.parked.Load(), started)
		}
		time.Sleep(time.Millisecond)
	}
}

// cpuExpertBench is the benchmark's host memory: slots experts of gpt-oss-20b's
// shape in a mapped file (as decode reads them, from the page cache, not
// in the processor's caches: 96 experts are 1.27 GB and each iteration
// takes the next ones).
type cpuExpertBench struct {
	em    *cpuExpertMats
	flat  kernels.Mat // the whole file as 2880-wide rows
	data  []byte
	slots int
}

const benchSlots = 96

var benchState struct {
	once sync.Once
	s    *cpuExpertBench
	err  error
}

func loadCPUExpertBench(b testing.TB) *cpuExpertBench {
	benchState.once.Do(func() { benchState.s, benchState.err = newCPUExpertBench(b) })
	if benchState.err != nil {
		b.Fatal(benchState.err)
	}
	return benchState.s
}

func newCPUExpertBench(b testing.TB) (*cpuExpertBench, error) {
	const d, ff = 2880, 2880
	rb := int(gguf.TypeMXFP4.RowSize(d))
	matBytes := benchSlots * ff * rb
	dir := os.Getenv("GGUFTOOL_BENCH_DIR") // default: the system's temporary directory
	f, err := os.CreateTemp(dir, "cpu-experts-*.bin")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name()) // the mapping keeps the pages
	defer f.Close()
	chunk := make([]byte, 64*rb*64)
	for m := range 3 {
		expertWeights(b, chunk, d, uint64(m))
		for off := 0; off < matBytes; off += len(chunk) {
			if _, err := f.Write(chunk[:min(len(chunk), matBytes-off)]); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Base(f.Name()), err)
			}
		}
	}
	// Populated, as the executor's mapping is once registered with the
	// driver (and after the first token anyway): no page faults timed.
	data, err := syscall.Mmap(int(f.Fd()), 0, 3*matBytes, syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, err
	}
	return benchOver(data)
}

// benchOver lays the benchmark's experts over data (3 stacked matrices).
func benchOver(data []byte) (*cpuExpertBench, error) {
	const d, ff = 2880, 2880
	matBytes := len(data) / 3
	s := &cpuExpertBench{data: data, slots: benchSlots}
	s.em = &cpuExpertMats{d: d, ff: ff, glu: cputwin.SwiGLUOAI, alpha: 1.702, limit: 7}
	r := rand.New(rand.NewPCG(4, 4))
	var err error
	for m := range 3 {
		if s.em.mats[m], err = kernels.NewMat(gguf.TypeMXFP4, benchSlots*ff, d, data[m*matBytes:(m+1)*matBytes]); err != nil {
			return nil, err
		}
		s.em.bias[m] = randVec(r, benchSlots*ff, 0.5)
	}
	if s.flat, err = kernels.NewMat(gguf.TypeMXFP4, 3*benchSlots*ff, d, data); err != nil {
		return nil, err
	}
	return s, nil
}

// anonTHP copies the weights into anonymous memory advised to use
// transparent huge pages (what loading the experts into memory instead of
// mapping the file could give: 2 MB pages, fewer TLB misses), returning
// the copy, the share of it in huge pages and a function that frees it.
func (s *cpuExpertBench) anonTHP() (*cpuExpertBench, float64, func(), error) {
	before := anonHugeBytes()
	data, err := syscall.Mmap(-1, 0, len(s.data), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, 0, nil, err
	}
	free := func() { syscall.Munmap(data) }
	_ = syscall.Madvise(data, syscall.MADV_HUGEPAGE) // advice only: THP may be off
	copy(data, s.data)
	c, err := benchOver(data)
	if err != nil {
		free()
		return nil, 0, nil, err
	}
	return c, float64(anonHugeBytes()-before) / float64(len(data)), free, nil
}

// anonHugeBytes is the process's anonymous memory in transparent huge pages.
func anonHugeBytes() int64 {
	b, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkCPUExperts measures the CPU expert path as decode runs it (one
// token's experts of a gpt-oss-20b layer, MXFP4 2880×2880, 13.2 MB each,
// from memory not in cache), against two baselines over as many bytes in
// the same run:
//
//	read:   the bandwidth ceiling, a sum of uint64s on every core
//	matvec: kernels.MatVec over 3k·2880 contiguous rows, one parallel call
//	spawn:  the former path (a goroutine fork per phase, serial activation)
//	pool:   singleTokens (persistent spinning workers, one batch of jobs)
//
// Metrics: GB/s of weights and µs/expert (decode measured 485 µs/expert
// on the H100 host before). Sweeps at k=2: an idle gap between calls (a
// decode layer's GPU work) that the pool's workers spin through (1 ms) or
// park in (5 ms > poolSpin); threads (runners = threads−1; runners=all:
// no core kept for the GPU's queuing); without the jobs' first-rows
// prefetch (cpuPrefetch); the weights copied to anonymous memory in
// transparent huge pages (anon-thp; %huge: the share that got them);
// job sizes (cpuJobBytes; 1block: 22 rows).
//
//	gunzip -c bin/cpuexp/gpu.test.gz > /tmp/t && chmod +x /tmp/t && cd runtime/gpu && /tmp/t -test.run '^$' -test.bench BenchmarkCPUExperts -test.benchtime 200x
func BenchmarkCPUExperts(b *testing.B) {
	s := loadCPUExpertBench(b)
	threads := runtime.GOMAXPROCS(0)
	type variant struct {
		name, method string
		k, threads   int
		jobB         int
		gap          time.Duration
		thp          bool
	}
	var vs []variant
	for k := 1; k <= 4; k++ {
		for _, m := range []string{"read", "matvec", "spawn", "pool"} {
			vs = append(vs, variant{name: fmt.Sprintf("k=%d/%s", k, m), method: m, k: k})
		}
	}
	for _, gap := range []time.Duration{time.Millisecond, 5 * time.Millisecond} {
		for _, m := range []string{"spawn", "pool"} {
			vs = append(vs, variant{name: fmt.Sprintf("k=2/%s/gap=%v", m, gap), method: m, k: 2, gap: gap})
		}
	}
	for _, th := range []int{4, 8, 12} {
		if th < threads {
			vs = append(vs, variant{name: fmt.Sprintf("k=2/pool/threads=%d", th), method: "pool", k: 2, threads: th})
		}
	}
	// Every core a runner, none kept for the GPU's queuing.
	for _, m := range []string{"spawn", "pool"} {
		vs = append(vs, variant{name: fmt.Sprintf("k=2/%s/runners=all", m), method: m, k: 2, threads: threads + 1})
	}
	vs = append(vs, variant{name: "k=2/pool/noprefetch", method: "pool-noprefetch", k: 2})
	for _, m := range []string{"read", "pool"} {
		vs = append(vs, variant{name: fmt.Sprintf("k=2/%s/anon-thp", m), method: m, k: 2, thp: true})
	}
	for _, jb := range []int{1, 32 << 10, 128 << 10, 256 << 10, 512 << 10} {
		name := fmt.Sprintf("k=2/pool/job=%dKB", jb>>10)
		if jb == 1 {
			name = "k=2/pool/job=1block"
		}
		vs = append(vs, variant{name: name, method: "pool", k: 2, jobB: jb})
	}
	for _, v := range vs {
		b.Run(v.name, func(b *testing.B) {
			if v.threads > 0 {
				defer kernels.SetThreads(kernels.SetThreads(v.threads))
			}
			if v.jobB > 0 {
				defer func(old int) { cpuJobBytes = old }(cpuJobBytes)
				cpuJobBytes = v.jobB
			}
			s, huge := s, -1.0
			if v.thp {
				c, h, free, err := s.anonTHP()
				if err != nil {
					b.Fatal(err)
				}
				defer free()
				s, huge = c, h
			}
			s.bench(b, v.method, v.k, v.gap)
			if huge >= 0 {
				b.ReportMetric(100*huge, "%huge")
			}
		})
	}
}

func (s *cpuExpertBench) bench(b *testing.B, method string, k int, gap time.Duration) {
	em := s.em
	d, ff := em.d, em.ff
	expertBytes := int64(len(em.mats[0].Data)+len(em.mats[1].Data)+len(em.mats[2].Data)) / int64(s.slots)
	r := rand.New(rand.NewPCG(6, 6))
	perm := r.Perm(s.slots)
	xs := make([][]float32, k)
	for i := range xs {
		xs[i] = randVec(r, d, 1)
	}
	gt, up, y := make([]float32, k*ff), make([]float32, k*ff), make([]float32, k*d)
	es := make([]int32, k)
	flatRows := 3 * k * ff // the same bytes as k experts
	runs := s.flat.Rows / flatRows
	sums := make([]uint64, runtime.GOMAXPROCS(0))
	flatOut := make([]float32, flatRows)
	var it int
	var busy time.Duration
	b.ResetTimer()
	for b.Loop() {
		if gap > 0 {
			for t := time.Now(); time.Since(t) < gap; {
			}
		}
		for i := range es {
			es[i] = int32(perm[(it*k+i)%s.slots])
		}
		q := it % runs
		it++
		start := time.Now()
		switch method {
		case "read":
			data := s.flat.Data[q*flatRows*s.flat.RowBytes() : (q+1)*flatRows*s.flat.RowBytes()]
			sumWords(data, sums)
		case "matvec":
			m := s.flat.RowRange(q*flatRows, (q+1)*flatRows)
			kernels.MatVec(flatOut, m, xs[0])
		case "spawn":
			em.singleTokensSpawn(es, xs, gt, up, y)
		case "pool":
			em.singleTokens(es, xs, gt, up, y, expertRunners())
		case "pool-noprefetch":
			cpuPrefetch = false
			em.singleTokens(es, xs, gt, up, y, expertRunners())
			cpuPrefetch = true
		}
		busy += time.Since(start)
	}
	sec := busy.Seconds() / float64(b.N)
	b.ReportMetric(float64(expertBytes)*float64(k)/sec/1e9, "GB/s")
	b.ReportMetric(sec*1e6/float64(k), "µs/expert")
	// Goroutines doing the work: read uses every P, matvec kernels.Threads,
	// spawn and pool Threads−1 (capped at GOMAXPROCS for the pool).
	switch method {
	case "read":
		b.ReportMetric(float64(len(sums)), "goroutines")
	case "matvec":
		b.ReportMetric(float64(kernels.Threads()), "goroutines")
	case "spawn":
		b.ReportMetric(float64(max(kernels.Threads()-1, 1)), "goroutines")
	default:
		b.ReportMetric(float64(expertRunners()), "goroutines")
	}
}

// sumWords adds up data as uint64s on len(sums) runners of the pool (one
// contiguous share each), the memory bandwidth ceiling.
func sumWords(data []byte, sums []uint64) {
	n := len(sums)
	words := len(data) / 8
	cpuJobs.run(n, n, func(j int) {
		lo, hi := words*j/n, words*(j+1)/n
		w := unsafe.Slice((*uint64)(unsafe.Pointer(&data[lo*8])), hi-lo)
		var a0, a1, a2, a3, a4, a5, a6, a7 uint64
		i := 0
		for ; i+8 <= len(w); i += 8 {
			a0 += w[i]
			a1 += w[i+1]
			a2 += w[i+2]
			a3 += w[i+3]
			a4 += w[i+4]
			a5 += w[i+5]
			a6 += w[i+6]
			a7 += w[i+7]
		}
		for ; i < len(w); i++ {
			a0 += w[i]
		}
		sums[j] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7
	})
}
