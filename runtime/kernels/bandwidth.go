package kernels

import "time"

// MemoryReadBandwidth measures how fast all threads read a buffer of
// size bytes that does not fit in cache (sum of squares with the active dot
// kernel, which reads each element once), best of reps, in bytes per second.
func MemoryReadBandwidth(size int, reps int) float64 {
	buf := make([]float32, size/4)
	for i := range buf {
		buf[i] = float32(i & 7)
	}
	best := 0.0
	sums := make([]float32, threads)
	for r := 0; r < max(reps, 1); r++ {
		start := time.Now()
		n := len(buf)
		parallelFor(threads, 1, func(lo, hi int) {
			for w := lo; w < hi; w++ {
				a := buf[w*n/threads : (w+1)*n/threads]
				sums[w] = dotF32(a, a)
			}
		})
		if bw := float64(size) / time.Since(start).Seconds(); bw > best {
			best = bw
		}
	}
	return best
}
