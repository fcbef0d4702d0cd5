package tokenizer

import (
	"math"
	"strings"
	"unicode/utf8"
)

// buildSPM indexes the pieces merges may produce (normal pieces only:
// SentencePiece never merges into control, user-defined or byte pieces)
// and the byte-fallback pieces.
func (t *Tokenizer) buildSPM() {
	t.tokenID = make(map[string]int32, len(t.tokens))
	for b := range t.byteToken {
		t.byteToken[b] = -1
	}
	for i, s := range t.tokens {
		switch t.types[i] {
		case TypeNormal:
			if _, dup := t.tokenID[s]; !dup {
				t.tokenID[s] = int32(i)
			}
		case TypeByte:
			if v, ok := parseByteToken(s); ok && t.byteToken[v] < 0 {
				t.byteToken[v] = int32(i)
			}
		}
	}
}

// spmSymbol is a run of text[start:end] in the merge list.
type spmSymbol struct {
	start, end int32
	prev, next int32
}

// encodeSPM appends the ids of a text fragment: spaces become U+2581
// (with one in front when prefix is set), pieces merge best score first
// (leftmost on ties), and text that is no piece falls back to bytes.
func (t *Tokenizer) encodeSPM(text string, prefix bool, out []int32) []int32 {
	var sb strings.Builder
	sb.Grow(len(text) + 8)
	if prefix {
		sb.WriteString("\u2581")
	}
	for _, r := range text {
		if r == ' ' {
			sb.WriteString("\u2581")
		} else {
			sb.WriteRune(r)
		}
	}
	s := sb.String()
	syms := make([]spmSymbol, 0, len(s))
	for i := 0; i < len(s); {
		_, w := utf8.DecodeRuneInString(s[i:])
		syms = append(syms, spmSymbol{start: int32(i), end: int32(i + w), prev: int32(len(syms)) - 1, next: int32(len(syms)) + 1})
		i += w
	}
	if len(syms) == 0 {
		return out
	}
	syms[len(syms)-1].next = -1

	var h candHeap
	add := func(l int32) {
		if l < 0 || syms[l].next < 0 {
			return
		}
		r := syms[l].next
		id, ok := t.tokenID[s[syms[l].start:syms[r].end]]
		if !ok {
			return
		}
		// Higher score first: order by the score's bits flipped so that the
		// min-heap pops the largest float first.
		h.push(pairCand{key: descendingKey(t.scores[id]), left: l, lid: syms[l].end, rid: syms[r].end})
	}
	for i := range syms {
		add(int32(i))
	}
	for len(h) > 0 {
		c := h.pop()
		l := c.left
		r := syms[l].next
		// lid/rid hold the ends of both symbols when queued; a merge since
		// then moved one of them.
		if syms[l].start < 0 || r < 0 || syms[l].end != c.lid || syms[r].end != c.rid {
			continue
		}
		syms[l].end = syms[r].end
		if t.trace != nil {
			t.trace(-1, t.tokenID[s[syms[l].start:syms[l].end]])
		}
		syms[l].next = syms[r].next
		if nx := syms[r].next; nx >= 0 {
			syms[nx].prev = l
		}
		syms[r].start = -1
		add(syms[l].prev)
		add(l)
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		piece := s[syms[i].start:syms[i].end]
		if id, ok := t.tokenID[piece]; ok {
			out = append(out, id)
			continue
		}
		for j := 0; j < len(piece); j++ {
			if id := t.byteToken[piece[j]]; id >= 0 {
				out = append(out, id)
			} else if t.unk >= 0 {
				out = append(out, t.unk)
			}
		}
	}
	return out
}

// descendingKey maps a float to a uint64 that sorts in the opposite order.
func descendingKey(f float32) uint64 {
	b := math.Float32bits(f)
	if b&0x80000000 != 0 {
		b = ^b
	} else {
		b |= 0x80000000
	}
	return uint64(^b)
}
