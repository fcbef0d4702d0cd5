package tokenizer

import (
	"fmt"
	"strings"
)

// buildBPE indexes the vocabulary and the ranked merges of a byte-level
// BPE tokenizer. A merge is stored by the ids of its two parts so that
// encoding never builds strings.
func (t *Tokenizer) buildBPE(merges []string) error {
	t.tokenID = make(map[string]int32, len(t.tokens))
	for i, s := range t.tokens {
		// The first of duplicate texts wins, as in llama.cpp's token_to_id.
		if _, dup := t.tokenID[s]; !dup {
			t.tokenID[s] = int32(i)
		}
	}
	missing := 0
	for b := range t.byteToken {
		t.byteToken[b] = -1
		if id, ok := t.tokenID[byteChar[b]]; ok {
			t.byteToken[b] = id
		} else {
			missing++
		}
	}
	// Every byte must have a token or some text cannot be encoded at all
	// (llama.cpp aborts on such text, HuggingFace errors).
	if missing > 0 {
		for b := range t.byteToken {
			if t.byteToken[b] < 0 {
				return fmt.Errorf("tokenizer: tokenizer.ggml.tokens lacks the byte-level tokens of %d of the 256 bytes (first: %q for byte 0x%02x); not a byte-level BPE vocabulary", missing, byteChar[b], b)
			}
		}
	}
	t.merges = make(map[uint64]uint64, len(merges))
	buf := make([]byte, 0, 64)
	for rank, m := range merges {
		// Parts never contain a space (byte-level spaces are Ġ); the first
		// part may be a lone space in hand-made vocabularies, hence from 1.
		sp := strings.IndexByte(m[min(1, len(m)):], ' ')
		if sp < 0 {
			return fmt.Errorf("tokenizer: tokenizer.ggml.merges[%d] = %q is not two tokens separated by a space", rank, m)
		}
		sp += min(1, len(m))
		a, b := m[:sp], m[sp+1:]
		ia, ok1 := t.tokenID[a]
		ib, ok2 := t.tokenID[b]
		buf = append(append(buf[:0], a...), b...)
		im, ok3 := t.tokenID[string(buf)]
		if !ok1 || !ok2 || !ok3 {
			// HuggingFace refuses such a file; llama.cpp ignores the merge.
			continue
		}
		key := uint64(uint32(ia))<<32 | uint64(uint32(ib))
		if _, dup := t.merges[key]; !dup {
			t.merges[key] = uint64(rank)<<32 | uint64(uint32(im))
		}
	}
	return nil
}

// symbol is one element of the doubly linked list BPE merges in place.
type symbol struct {
	id         int32
	prev, next int32
}

// pairCand is a candidate merge of the symbols at left and its successor.
type pairCand struct {
	key      uint64 // priority: smaller first
	left     int32
	lid, rid int32
}

// candHeap is a binary min-heap on (key, left).
type candHeap []pairCand

func (h candHeap) less(i, j int) bool {
	return h[i].key < h[j].key || h[i].key == h[j].key && h[i].left < h[j].left
}

func (h *candHeap) push(c pairCand) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *candHeap) pop() pairCand {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && s.less(l, m) {
			m = l
		}
		if r < len(s) && s.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

// encodeWord appends the ids of one pre-tokenized word.
func (t *Tokenizer) encodeWord(word string, out []int32) []int32 {
	if t.ignoreMerges {
		var buf [128]byte
		enc := buf[:0]
		for i := 0; i < len(word); i++ {
			enc = append(enc, byteChar[word[i]]...)
		}
		if id, ok := t.tokenID[string(enc)]; ok {
			return append(out, id)
		}
	}
	syms := make([]symbol, 0, len(word))
	for i := 0; i < len(word); i++ {
		id := t.byteToken[word[i]]
		if id < 0 {
			continue // a vocabulary without this byte cannot encode it
		}
		syms = append(syms, symbol{id: id, prev: int32(len(syms)) - 1, next: int32(len(syms)) + 1})
	}
	if len(syms) == 0 {
		return out
	}
	syms[len(syms)-1].next = -1
	if len(syms) > 1 {
		var h candHeap
		add := func(l int32) {
			if l < 0 {
				return
			}
			r := syms[l].next
			if r < 0 {
				return
			}
			if m, ok := t.merges[uint64(uint32(syms[l].id))<<32|uint64(uint32(syms[r].id))]; ok {
				h.push(pairCand{key: m >> 32, left: l, lid: syms[l].id, rid: syms[r].id})
			}
		}
		for i := range syms {
			add(int32(i))
		}
		for len(h) > 0 {
			c := h.pop()
			l := c.left
			r := syms[l].next
			// Skip candidates whose symbols changed since they were queued.
			if syms[l].id != c.lid || r < 0 || syms[r].id != c.rid {
				continue
			}
			m := t.merges[uint64(uint32(c.lid))<<32|uint64(uint32(c.rid))]
			syms[l].id = int32(uint32(m))
			if t.trace != nil {
				t.trace(int(m>>32), syms[l].id)
			}
			syms[l].next = syms[r].next
			if nx := syms[r].next; nx >= 0 {
				syms[nx].prev = l
			}
			syms[r].id = -1
			add(syms[l].prev)
			add(l)
		}
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		out = append(out, syms[i].id)
	}
	return out
}
