package runtime

import (
	"fmt"

	"github.com/gguftool/gguftool/cuda/cputwin"
)

// kvLayer is the key/value history of one layer: position after position,
// kw (vw) floats per position.
type kvLayer struct {
	k, v   []float32
	kw, vw int
	// half rounds what is stored to binary16 precision (Session.RoundKVToHalf).
	half bool
}

// stored is called after rows pos0..pos0+n-1 were written: with half, it
// rounds them as the GPU's kv_store_f16 does (to nearest even), so the
// cache holds the values an f16 cache would.
func (c *kvLayer) stored(pos0, n int) {
	if !c.half {
		return
	}
	for _, r := range [][]float32{c.k[pos0*c.kw : (pos0+n)*c.kw], c.v[pos0*c.vw : (pos0+n)*c.vw]} {
		for i, x := range r {
			r[i] = cputwin.HalfToFloat32(cputwin.Float32ToHalf(x))
		}
	}
}

// grow makes room for n positions, keeping what is cached.
func (c *kvLayer) grow(n int) {
	if need := n * c.kw; need > len(c.k) {
		c.k = append(c.k[:len(c.k):len(c.k)], make([]float32, max(need, 2*len(c.k))-len(c.k))...)
	}
	if need := n * c.vw; need > len(c.v) {
		c.v = append(c.v[:len(c.v):len(c.v)], make([]float32, max(need, 2*len(c.v))-len(c.v))...)
	}
}

// Session is one sequence being generated: the KV cache and the position.
// A session is not safe for concurrent use; kernels inside it use all cores.
type Session struct {
	m       *Model
	onRoute func(layer, nExpert, nUsed int, ids []int)
	counts  map[int][]int64 // expert selection counts per MoE layer
	nUsed   map[int]int
	kv      []kvLayer
	pos     int
	limit   int
}

// NewSession starts an empty sequence of at most maxCtx positions (≤ 0: the
// model's context length).
func (m *Model) NewSession(maxCtx int) *Session {
	if maxCtx <= 0 {
		maxCtx = m.ContextLength
	}
	kw, vw := m.g.kvWidths()
	s := &Session{m: m, kv: make([]kvLayer, len(kw)), limit: maxCtx}
	for i := range s.kv {
		s.kv[i] = kvLayer{kw: kw[i], vw: vw[i]}
	}
	return s
}

// RoundKVToHalf makes the session's cache keep keys and values at binary16
// precision, as the GPU executors' f16 cache does (values stay float32 in
// memory), so that a validation compares the same computation. Call it
// before the first Eval.
func (s *Session) RoundKVToHalf() {
	for i := range s.kv {
		s.kv[i].half = true
	}
}

// Pos is the number of positions already in the cache.
func (s *Session) Pos() int { return s.pos }

// Model returns the session's model.
func (s *Session) Model() *Model { return s.m }

// KVBytes is the memory the KV cache holds now.
func (s *Session) KVBytes() int64 {
	var n int64
	for _, c := range s.kv {
		n += int64(len(c.k)+len(c.v)) * 4
	}
	return n
}

// Eval runs tokens through the model after what the session already holds
// and returns their logits: n rows of NVocab if all is set, else only the
// last token's row.
func (s *Session) Eval(tokens []int32, all bool) ([]float32, error) {
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("no tokens to evaluate")
	}
	if s.pos+n > s.limit {
		return nil, fmt.Errorf("context full: %d cached + %d new tokens exceed the context of %d", s.pos, n, s.limit)
	}
	for i := range s.kv {
		s.kv[i].grow(s.pos + n)
	}
	e := &exec{m: s.m, onRoute: s.onRoute}
	h := s.m.g.forward(e, s, tokens, s.pos)
	if e.err != nil {
		return nil, e.err
	}
	rows := n
	if !all {
		h = h[(n-1)*s.m.NEmbd:]
		rows = 1
	}
	logits := make([]float32, rows*s.m.NVocab)
	s.m.g.output(e, logits, h, rows)
	if e.err != nil {
		return nil, e.err
	}
	s.pos += n
	return logits, nil
}
