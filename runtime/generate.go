package runtime

import (
	"fmt"
	"time"
)

// GenerateOptions control Session.Generate.
type GenerateOptions struct {
	MaxTokens int                 // tokens to generate after the prompt
	Sampler   *Sampler            // nil: greedy
	Stop      func(id int32) bool // end-of-generation test (the token is kept), may be nil
	// PromptLogits, if set, receives the logits of every prompt position
	// (n_prompt rows of NVocab) right after prefill.
	PromptLogits func(logits []float32) error
	// OnToken is called with each generated token as soon as it is chosen.
	OnToken func(id int32) error
}

// GenerateStats are measured, not estimated.
type GenerateStats struct {
	PromptTokens    int
	GeneratedTokens int
	Prefill         time.Duration // prompt evaluation
	TTFT            time.Duration // from the start until the first token was chosen
	Decode          time.Duration // evaluating the generated tokens after the first
}

// Generate evaluates the prompt and then samples up to MaxTokens tokens,
// feeding each back through the KV cache.
func (s *Session) Generate(prompt []int32, o GenerateOptions) ([]int32, GenerateStats, error) {
	st := GenerateStats{PromptTokens: len(prompt)}
	if len(prompt) == 0 {
		return nil, st, fmt.Errorf("empty prompt")
	}
	smp := o.Sampler
	if smp == nil {
		smp = NewSampler(0, 0, 1, 0)
	}
	start := time.Now()
	logits, err := s.Eval(prompt, o.PromptLogits != nil)
	if err != nil {
		return nil, st, err
	}
	st.Prefill = time.Since(start)
	if o.PromptLogits != nil {
		if err := o.PromptLogits(logits); err != nil {
			return nil, st, err
		}
		logits = logits[(len(prompt)-1)*s.m.NVocab:]
	}
	var out []int32
	if o.MaxTokens <= 0 {
		return out, st, nil
	}
	decodeStart := time.Now()
	for {
		id := smp.Sample(logits)
		if len(out) == 0 {
			st.TTFT = time.Since(start)
			decodeStart = time.Now()
		}
		out = append(out, id)
		st.GeneratedTokens = len(out)
		if o.OnToken != nil {
			if err := o.OnToken(id); err != nil {
				return out, st, err
			}
		}
		if len(out) >= o.MaxTokens || (o.Stop != nil && o.Stop(id)) || s.pos >= s.limit {
			break
		}
		if logits, err = s.Eval([]int32{id}, false); err != nil {
			return out, st, err
		}
	}
	st.Decode = time.Since(decodeStart)
	return out, st, nil
}
