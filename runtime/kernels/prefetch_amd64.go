package kernels

//go:noescape
func prefetchLines(p *byte, n int)

// Prefetch asks for b's cache lines ahead of use (a hint: nothing is read
// or faulted). For the start of a stream the hardware prefetcher has not
// seen yet, e.g. a block of rows a worker is about to multiply, requested
// at once instead of a few lines per memory latency.
func Prefetch(b []byte) {
	if len(b) == 0 {
		return
	}
	prefetchLines(&b[0], (len(b)+63)/64)
}
