package ops

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/gguftool/gguftool/cuda"
)

// The profiler brackets every kernel launch (and any span a caller marks,
// such as a batch of expert copies) with a pair of timing events, so that a
// run can be split into the GPU's busy time per kernel and the gaps the
// host leaves between launches: the first says which kernel to speed up,
// the second whether launches and host syncs are the bottleneck instead.

// ProfileEntry is the GPU time of one kernel (or marked span) over a run.
type ProfileEntry struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	MS    float64 `json:"ms"`
}

// Profile is what StopProfile returns: entries by decreasing time.
type Profile struct {
	Entries []ProfileEntry `json:"entries"`
	// SpanMS is the time from the first recorded start to the last end:
	// with Entries' sum, it tells how much the GPU idled in between.
	SpanMS float64 `json:"span_ms"`
}

// TotalMS is the sum of the entries' times.
func (p Profile) TotalMS() float64 {
	var t float64
	for _, e := range p.Entries {
		t += e.MS
	}
	return t
}

// Write prints the profile as a table (at most top rows; 0: all).
func (p Profile) Write(w io.Writer, top int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	total := p.TotalMS()
	fmt.Fprintf(tw, "kernel or span\tcalls\tGPU ms\tshare\t\n")
	for i, e := range p.Entries {
		if top > 0 && i == top {
			break
		}
		share := 0.0
		if total > 0 {
			share = 100 * e.MS / total
		}
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.1f%%\t\n", e.Name, e.Count, e.MS, share)
	}
	fmt.Fprintf(tw, "sum of the above (all rows)\t\t%.3f\t\t\n", total)
	fmt.Fprintf(tw, "first start to last end\t\t%.3f\t\t\n", p.SpanMS)
	return tw.Flush()
}

type profRec struct {
	name       string
	start, end *cuda.Event
}

type profiler struct {
	recs []profRec
	pool []*cuda.Event
	err  error
}

// StartProfile makes every later launch record timing events until
// StopProfile. Profiling serializes nothing but adds two event records per
// launch, so time the unprofiled run separately.
func (k *Kernels) StartProfile() { k.prof = &profiler{} }

func (p *profiler) event(ctx *cuda.Context) *cuda.Event {
	if n := len(p.pool); n > 0 {
		e := p.pool[n-1]
		p.pool = p.pool[:n-1]
		return e
	}
	e, err := ctx.NewEvent(true)
	if err != nil && p.err == nil {
		p.err = err
	}
	return e
}

// Mark starts a named span on stream s and returns the function that ends
// it; without profiling both are no-ops. Use it around copies, which are
// not kernel launches.
func (k *Kernels) Mark(s *cuda.Stream, name string) func() {
	p := k.prof
	if p == nil {
		return func() {}
	}
	start := p.event(k.ctx)
	if start == nil {
		return func() {}
	}
	if err := start.Record(s); err != nil && p.err == nil {
		p.err = err
	}
	return func() {
		end := p.event(k.ctx)
		if end == nil {
			return
		}
		if err := end.Record(s); err != nil && p.err == nil {
			p.err = err
		}
		p.recs = append(p.recs, profRec{name, start, end})
	}
}

// StopProfile waits for the recorded work, sums it per name and ends
// profiling.
func (k *Kernels) StopProfile() (Profile, error) {
	p := k.prof
	k.prof = nil
	if p == nil {
		return Profile{}, fmt.Errorf("ops: StopProfile without StartProfile")
	}
	defer func() {
		for _, r := range p.recs {
			r.start.Destroy()
			r.end.Destroy()
		}
		for _, e := range p.pool {
			e.Destroy()
		}
	}()
	if p.err != nil {
		return Profile{}, p.err
	}
	if len(p.recs) == 0 {
		return Profile{}, nil
	}
	if err := p.recs[len(p.recs)-1].end.Synchronize(); err != nil {
		return Profile{}, err
	}
	sums := map[string]*ProfileEntry{}
	first := p.recs[0].start
	var span float64
	for _, r := range p.recs {
		ms, err := cuda.Elapsed(r.start, r.end)
		if err != nil {
			return Profile{}, fmt.Errorf("timing %s: %w", r.name, err)
		}
		e := sums[r.name]
		if e == nil {
			e = &ProfileEntry{Name: r.name}
			sums[r.name] = e
		}
		e.Count++
		e.MS += float64(ms)
		if to, err := cuda.Elapsed(first, r.end); err == nil {
			span = max(span, float64(to))
		}
	}
	var out Profile
	for _, e := range sums {
		out.Entries = append(out.Entries, *e)
	}
	sort.Slice(out.Entries, func(i, j int) bool {
		if out.Entries[i].MS != out.Entries[j].MS {
			return out.Entries[i].MS > out.Entries[j].MS
		}
		return out.Entries[i].Name < out.Entries[j].Name
	})
	out.SpanMS = span
	return out, nil
}
