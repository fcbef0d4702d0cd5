package main

import (
	"fmt"
	"io"
	"time"

	"github.com/gguftool/gguftool/cuda/ops"
	"github.com/gguftool/gguftool/runtime/gpu"
)

// gpuProfile is bench --profile's result: the GPU time per kernel of one
// prompt pass and of the decode steps, against the wall time they took.
type gpuProfile struct {
	Test   string      `json:"test"`
	WallMS float64     `json:"wall_ms"`
	GPU    ops.Profile `json:"gpu"`
}

// profileGPU runs one ppN and one tgN pass after the timed ones with
// every launch bracketed by timing events (slower than the timed runs: the
// tokens/s above are the unprofiled ones).
func profileGPU(be *gpu.Backend, eng *gpuEngine, ctx, pp, tg, ubatch, vocab int) ([]gpuProfile, error) {
	var out []gpuProfile
	pass := func(name string, f func(s sequence) error) error {
		s, err := eng.newSeq(ctx)
		if err != nil {
			return err
		}
		defer s.Close()
		be.StartProfile()
		start := time.Now()
		err = f(s)
		p, perr := be.StopProfile()
		wall := time.Since(start)
		if err != nil {
			return err
		}
		if perr != nil {
			return perr
		}
		out = append(out, gpuProfile{Test: name, WallMS: float64(wall.Microseconds()) / 1e3, GPU: p})
		return nil
	}
	if pp > 0 {
		if err := pass(fmt.Sprintf("pp%d", pp), func(s sequence) error {
			_, err := evalChunked(s, benchTokens(pp, vocab), ubatch, false, vocab)
			return err
		}); err != nil {
			return nil, err
		}
	}
	if tg > 0 {
		if err := pass(fmt.Sprintf("tg%d", tg), func(s sequence) error {
			for _, id := range benchTokens(tg, vocab) {
				if _, err := s.Eval([]int32{id}, false); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func writeGPUProfiles(w io.Writer, ps []gpuProfile) {
	for _, p := range ps {
		if p.GPU.SpanMS == 0 && len(p.GPU.Entries) > 0 {
			// The fake driver's events do not advance: counts only.
			fmt.Fprintf(w, "\nprofile %s: launches per kernel (this device's events record no time)\n", p.Test)
			p.GPU.Write(w, 15)
			continue
		}
		fmt.Fprintf(w, "\nprofile %s: wall %.1f ms, GPU busy %.1f ms (%.0f%%)\n", p.Test, p.WallMS, p.GPU.TotalMS(), 100*p.GPU.TotalMS()/max(p.WallMS, 1e-9))
		p.GPU.Write(w, 15)
	}
}
