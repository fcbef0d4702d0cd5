package planner

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// ProfileSchema is the version tag of a usage profile.
const ProfileSchema = "gguftool.profile/v1"

// Profile counts how often the router chose each expert, per layer: what
// the runtime records while it runs (docs/planner.md).
type Profile struct {
	Schema string `json:"schema"`
	// Model is informative (the file the profile was recorded on).
	Model string `json:"model,omitempty"`
	// Tokens is the number of tokens routed (informative).
	Tokens int64          `json:"tokens,omitempty"`
	Layers []LayerProfile `json:"layers"`
}

// LayerProfile is the expert selection counts of one MoE layer.
type LayerProfile struct {
	Layer  int     `json:"layer"`
	Counts []int64 `json:"counts"`
}

// LoadProfile reads a profile file.
func LoadProfile(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := DecodeProfile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// DecodeProfile reads a profile.
func DecodeProfile(r io.Reader) (*Profile, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if p.Schema != ProfileSchema {
		return nil, fmt.Errorf("profile schema %q, want %q", p.Schema, ProfileSchema)
	}
	return &p, nil
}

// check verifies the profile against the model's layer and expert counts.
func (p *Profile) check(layers, experts int) error {
	seen := map[int]bool{}
	for _, l := range p.Layers {
		if l.Layer < 0 || l.Layer >= layers {
			return fmt.Errorf("profile: layer %d out of range (model has %d layers)", l.Layer, layers)
		}
		if seen[l.Layer] {
			return fmt.Errorf("profile: layer %d listed twice", l.Layer)
		}
		seen[l.Layer] = true
		if len(l.Counts) != experts {
			return fmt.Errorf("profile: layer %d has %d counts, the model has %d experts", l.Layer, len(l.Counts), experts)
		}
		for e, c := range l.Counts {
			if c < 0 {
				return fmt.Errorf("profile: layer %d expert %d: negative count %d", l.Layer, e, c)
			}
		}
	}
	return nil
}

// share returns, per layer, the fraction of routing decisions each expert
// received; layers without counts get the uniform share.
func (p *Profile) share(layers, experts int) [][]float64 {
	out := make([][]float64, layers)
	for l := range out {
		out[l] = make([]float64, experts)
		for e := range out[l] {
			out[l][e] = 1 / float64(experts)
		}
	}
	if p == nil {
		return out
	}
	for _, lp := range p.Layers {
		var total int64
		for _, c := range lp.Counts {
			total += c
		}
		if total == 0 {
			continue
		}
		for e, c := range lp.Counts {
			out[lp.Layer][e] = float64(c) / float64(total)
		}
	}
	return out
}
