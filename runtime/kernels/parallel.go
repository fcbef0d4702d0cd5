package kernels

import (
	"runtime"
	"sync"
)

// threads is the number of goroutines a kernel splits its work over.
var threads = runtime.GOMAXPROCS(0)

// SetThreads sets how many goroutines the kernels use (at least 1) and
// returns the previous value. Benchmarks use it to compare scaling.
func SetThreads(n int) int {
	old := threads
	if n < 1 {
		n = 1
	}
	threads = n
	return old
}

// Threads returns the number of goroutines the kernels use.
func Threads() int { return threads }

// parallelFor calls fn over [0, n) split into contiguous chunks of at least
// grain items, one chunk per goroutine. Small jobs run inline: spawning
// goroutines costs more than a few thousand multiply-adds.
func parallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	workers := threads
	if grain < 1 {
		grain = 1
	}
	if maxw := (n + grain - 1) / grain; workers > maxw {
		workers = maxw
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
