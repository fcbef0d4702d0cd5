package gpu

import (
	"math"
	"time"
)

// The CPU side of the cost model starts from this machine's measured
// speed rather than fixed guesses: the split of a layer's experts is
// chosen before any CPU product has been timed, and the per-extra-token
// cost is measured only by batches whose CPU share has several tokens per
// expert, which a prior that overrates it never chooses (with the former
// 0.33 ms an expert and 0.28 ms a further token, a 16-token prompt of
// gpt-oss-20b streamed every expert to the GPU). So the executor times
// the real paths once per expert shape when it starts: a few experts for
// one token each (singleTokens), a few others for three tokens each (a
// short prompt's experts get 2–3; multiTokens), on the runners the layers
// use, reading weights not in cache (each expert once a round). Modelling
// it instead from a memory-read speed and the kernels' speed in cache
// misses how the two overlap: on a 2-core VM max(read, decode) was 35%
// under the measured time, their sum 15% over. In a layer the experts of
// several tokens also get the core that queued the GPU's share once it is
// done (jobPool.help), which this timing leaves out: it overrates the
// per-token cost by up to (runners+1)/runners (2× on 2 cores, 7% on 16)
// until batches measure it.

// priorExperts is how many experts each timed batch computes (fewer when
// the layer has fewer than 4·priorExperts): a decode layer's CPU share.
const priorExperts = 4

// priorRounds is how many times each batch is timed (distinct experts
// each round while the layer has enough); the fastest round counts, the
// first also waking the pool's workers.
const priorRounds = 2

// measureCPUPrior times em's experts 0..nExp−1 as described above on
// runners goroutines and returns the seconds of an expert used by one
// token and of each further token.
func measureCPUPrior(em *cpuExpertMats, nExp, runners int) linCost {
	k := max(1, min(priorExperts, nExp/(2*priorRounds)))
	const m = 3
	d, ff := em.d, em.ff
	xs := make([]float32, k*m*d)
	for i := range xs {
		xs[i] = float32(i%13-6) * 0.05
	}
	xv := make([][]float32, k)
	for i := range xv {
		xv[i] = xs[i*d : (i+1)*d]
	}
	gt, up, y := make([]float32, k*m*ff), make([]float32, k*m*ff), make([]float32, k*m*d)
	es, ms := make([]int32, k), make([]int, k)
	next := 0
	pick := func() {
		for i := range es {
			es[i], ms[i] = int32(next%nExp), m
			next++
		}
	}
	one, three := math.Inf(1), math.Inf(1)
	for range priorRounds {
		pick()
		start := time.Now()
		em.singleTokens(es, xv, gt, up, y, runners)
		one = min(one, time.Since(start).Seconds()/float64(k))
		pick()
		start = time.Now()
		em.multiTokens(es, ms, xs, gt, up, y, runners)
		three = min(three, time.Since(start).Seconds()/float64(k))
	}
	return linCost{first: one, extra: max(0, three-one) / (m - 1), timed: true}
}
