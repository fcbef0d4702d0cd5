package gpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	_ "unsafe" // go:linkname

	"github.com/gguftool/gguftool/runtime/kernels"
)

// The CPU's expert products of a decode step are ~0.1–0.5 ms of work per
// layer. Forking a goroutine per core for them costs a good part of that:
// the Go scheduler wakes idle threads one after another (each woken thread
// wakes the next), so the last of 15 workers starts tens of microseconds
// after the first. cpuPool keeps its workers: after a batch they spin on a
// generation counter for poolSpin (longer than a decode layer takes), so
// the next layer's batch starts on every core within a microsecond, and
// only then park.

// poolSpin is how long (ns) an idle worker waits for the next batch
// before it parks: longer than a decode layer. Atomic: tests change it
// while workers read it.
var poolSpin atomic.Int64

func init() { poolSpin.Store(int64(3 * time.Millisecond)) }

// cpuJobs is the executor's worker pool (started on first use).
var cpuJobs jobPool

// jobPool runs batches of jobs on persistent workers and on the caller.
type jobPool struct {
	seq     atomic.Uint64 // bumped when cur changes
	cur     atomic.Pointer[jobBatch]
	mu      sync.Mutex // guards started and the parking
	cond    sync.Cond
	parked  atomic.Int32
	started int
	// quiet is 1 + the generation park was last called at: workers
	// idle since that generation or an earlier one park at once.
	quiet atomic.Uint64
}

// jobBatch is one run: jobs 0..n-1, taken in order by whoever is free.
type jobBatch struct {
	n      int64
	fn     func(j int)
	next   atomic.Int64 // next job to take
	left   atomic.Int64 // jobs not finished
	seats  int32        // how many pool workers may join
	joined atomic.Int32
	open   bool // help may join it too (runOpen)
}

//go:linkname procyield runtime.procyield
func procyield(cycles uint32)

// spinner waits politely: a few PAUSEs between checks (the other hardware
// thread of the core keeps its issue slots; 0.05–0.2 µs a round by the
// processor), and every 1024 rounds a yield, so that a goroutine waiting for a P is
// not held up long by spinning workers (not more often: Gosched takes the
// scheduler's global lock). A wait inside a batch (for a job in flight)
// should take microseconds; one past 4096 rounds means the thread running
// that job lost its core (more runnable threads than cores), so the
// spinner sleeps from then on and leaves the core to it.
type spinner struct{ i int }

func (s *spinner) spin() {
	s.i++
	switch {
	case s.i > 4096:
		time.Sleep(20 * time.Microsecond)
	case s.i%1024 == 0:
		runtime.Gosched()
	default:
		procyield(4)
	}
}

// expertRunners is how many goroutines compute the CPU's experts: one
// core stays with the goroutine queuing the GPU's share (a worker never
// yields while it has jobs, and the GPU must not wait for the cores).
func expertRunners() int {
	return max(1, min(kernels.Threads()-1, runtime.GOMAXPROCS(0)))
}

// run calls fn(0..n-1) on runners goroutines: the caller and runners−1
// pool workers, each taking the next job as it finishes one. fn may wait
// for jobs of lower index (they are all taken before it is), as long as
// the wait spins (spinner) rather than blocks.
func (p *jobPool) run(n, runners int, fn func(j int)) { p.start(n, runners, fn, false) }

// runOpen is run for a batch that help may join as well: the goroutine
// that queued the GPU's share, once done, works on the CPU's experts.
func (p *jobPool) runOpen(n, runners int, fn func(j int)) { p.start(n, runners, fn, true) }

func (p *jobPool) start(n, runners int, fn func(j int), open bool) {
	if (runners <= 1 && !open) || n <= 1 {
		for j := range n {
			fn(j)
		}
		return
	}
	p.grow(runners - 1)
	b := &jobBatch{n: int64(n), fn: fn, seats: int32(runners - 1), open: open}
	b.left.Store(int64(n))
	p.cur.Store(b)
	p.seq.Add(1)
	if p.parked.Load() > 0 {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	}
	b.work()
	var s spinner
	for b.left.Load() > 0 {
		s.spin()
	}
}

// grow starts workers until there are at least n.
func (p *jobPool) grow(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cond.L == nil {
		p.cond.L = &p.mu
	}
	for ; p.started < n; p.started++ {
		go p.worker(p.seq.Load())
	}
}

func (p *jobPool) worker(seen uint64) {
	for {
		seen = p.wait(seen)
		if b := p.cur.Load(); b != nil && b.joined.Add(1) <= b.seats {
			b.work()
		}
	}
}

// wait returns the generation once it differs from seen: spinning for
// poolSpin (unless park was called since seen), then parked until run
// wakes it.
func (p *jobPool) wait(seen uint64) uint64 {
	deadline := time.Now().Add(time.Duration(poolSpin.Load()))
	for i := 1; ; i++ {
		if q := p.seq.Load(); q != seen {
			return q
		}
		if p.quiet.Load() > seen || i%64 == 0 && time.Now().After(deadline) {
			break
		}
		if i%1024 == 0 {
			runtime.Gosched()
		} else {
			procyield(4)
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// run bumps seq before it reads parked: either it sees this worker
	// parked and broadcasts (under mu, so after Wait starts), or this
	// check sees the new seq.
	p.parked.Add(1)
	for p.seq.Load() == seen {
		p.cond.Wait()
	}
	p.parked.Add(-1)
	return p.seq.Load()
}

// park makes the workers park as soon as they are idle (now, or when
// they finish the batch they are in) instead of spinning on: before work
// that forks its own goroutines (kernels.MatMul), which would otherwise
// wait for a P while the workers hold them.
func (p *jobPool) park() { p.quiet.Store(p.seq.Load() + 1) }

// help works on open batches (runOpen) until done is closed: the caller's
// core joins work that started without it. Jobs of a batch taken by help
// are finished before that batch's run returns, as any other.
func (p *jobPool) help(done <-chan struct{}) {
	var s spinner
	for {
		select {
		case <-done:
			return
		default:
		}
		if b := p.cur.Load(); b != nil && b.open && b.next.Load() < b.n {
			b.work()
			s = spinner{}
			continue
		}
		s.spin()
	}
}

func (b *jobBatch) work() {
	for j := b.next.Add(1) - 1; j < b.n; j = b.next.Add(1) - 1 {
		b.fn(int(j))
		b.left.Add(-1)
	}
}
