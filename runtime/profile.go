package runtime

import (
	"path/filepath"
	"sort"

	"github.com/gguftool/gguftool/planner"
)

// RecordRouting makes the session count how often each expert of each MoE
// layer is chosen, for Profile.
func (s *Session) RecordRouting() {
	if s.counts != nil {
		return
	}
	s.counts = map[int][]int64{}
	s.nUsed = map[int]int{}
	s.onRoute = func(layer, nExpert, nUsed int, ids []int) {
		c := s.counts[layer]
		if c == nil {
			c = make([]int64, nExpert)
			s.counts[layer] = c
			s.nUsed[layer] = nUsed
		}
		for _, id := range ids {
			c[id]++
		}
	}
}

// Profile returns the routing counts recorded since RecordRouting as a
// planner usage profile (input of `gguftool plan --per-expert --profile`).
func (s *Session) Profile() *planner.Profile {
	p := &planner.Profile{Schema: planner.ProfileSchema, Model: filepath.Base(s.m.File.Path())}
	for l, c := range s.counts {
		p.Layers = append(p.Layers, planner.LayerProfile{Layer: l, Counts: append([]int64(nil), c...)})
	}
	sort.Slice(p.Layers, func(i, j int) bool { return p.Layers[i].Layer < p.Layers[j].Layer })
	if len(p.Layers) > 0 {
		var n int64
		for _, v := range p.Layers[0].Counts {
			n += v
		}
		p.Tokens = n / int64(s.nUsed[p.Layers[0].Layer])
	}
	return p
}
