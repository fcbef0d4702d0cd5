package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/gguftool/gguftool/gguf"
)

// Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
const (
	TypeUndefined   = 0
	TypeNormal      = 1
	TypeUnknown     = 2
	TypeControl     = 3
	TypeUserDefined = 4
	TypeUnused      = 5
	TypeByte        = 6
)

// Kind is the tokenizer algorithm named by tokenizer.ggml.model.
type Kind int

const (
	// KindBPE is byte-level BPE with ranked merges (model "gpt2").
	KindBPE Kind = iota
	// KindSPM is SentencePiece BPE: merges chosen by piece score, bytes
	// that are no piece fall back to <0xXX> tokens (model "llama").
	KindSPM
)

// Tokenizer encodes and decodes text for one vocabulary. It is safe for
// concurrent use once built.
type Tokenizer struct {
	kind   Kind
	pre    *preTokenizer
	tokens []string
	types  []int32
	scores []float32

	// tokenID maps a token's stored text to its id. For SPM it holds only
	// normal pieces, the ones merges may produce.
	tokenID map[string]int32
	// merges maps a pair of ids (left<<32 | right) to rank<<32 | merged id.
	merges       map[uint64]uint64
	ignoreMerges bool
	// byteToken is the id of each byte: its byte-level character (BPE) or
	// its <0xXX> piece (SPM); -1 when the vocabulary lacks it.
	byteToken [256]int32

	// specials are the control and user-defined tokens matched in the text
	// before BPE, longest first within each first byte.
	specials map[byte][]special

	phi3    bool // Phi-3 added tokens present (see stripAttrs)
	harmony bool // gpt-oss Harmony tokens present (see IsEOG)

	bos, eos, unk, pad, eot int32
	addBOS, addEOS          bool
	addSpacePrefix          bool

	chatTemplate string
	chat         chatTemplate // parsed on first use

	// trace, when set (tests only), sees every merge: its rank (BPE) or -1
	// (SPM), and the id it produced.
	trace func(rank int, id int32)
}

type special struct {
	text    string
	id      int32
	control bool // matched only when special tokens are parsed
	// rstrip/lstrip: the token swallows the whitespace after/before it
	// (HuggingFace AddedToken flags; GGUF has no key for them, see
	// stripAttrs).
	rstrip, lstrip bool
}

// FromGGUF builds the tokenizer described by the tokenizer.* keys of md.
func FromGGUF(md *gguf.Metadata) (*Tokenizer, error) {
	model, err := md.String("tokenizer.ggml.model")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t := &Tokenizer{bos: -1, eos: -1, unk: -1, pad: -1, eot: -1}
	switch model {
	case "gpt2":
		t.kind = KindBPE
	case "llama":
		t.kind = KindSPM
		t.addBOS, t.addSpacePrefix = true, true
	default:
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.model %q is not supported (want gpt2 or llama)", model)
	}
	if t.tokens, err = md.Strings("tokenizer.ggml.tokens"); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	n := len(t.tokens)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.tokens is empty")
	}
	if md.Has("tokenizer.ggml.token_type") {
		if t.types, err = gguf.ArrayOf[int32](md, "tokenizer.ggml.token_type"); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if len(t.types) != n {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.token_type has %d entries, tokenizer.ggml.tokens %d", len(t.types), n)
		}
	} else {
		t.types = make([]int32, n)
		for i := range t.types {
			t.types[i] = TypeNormal
		}
	}
	if md.Has("tokenizer.ggml.scores") {
		if t.scores, err = gguf.ArrayOf[float32](md, "tokenizer.ggml.scores"); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if len(t.scores) != n {
			return nil, fmt.Errorf("tokenizer: tokenizer.ggml.scores has %d entries, tokenizer.ggml.tokens %d", len(t.scores), n)
		}
	} else if t.kind == KindSPM {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.scores is required for a llama (SentencePiece) vocabulary")
	}

	for _, k := range []struct {
		key string
		dst *int32
	}{
		{"tokenizer.ggml.bos_token_id", &t.bos},
		{"tokenizer.ggml.eos_token_id", &t.eos},
		{"tokenizer.ggml.unknown_token_id", &t.unk},
		{"tokenizer.ggml.padding_token_id", &t.pad},
		{"tokenizer.ggml.eot_token_id", &t.eot},
	} {
		if !md.Has(k.key) {
			continue
		}
		v, err := md.Int(k.key)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if v < 0 || v >= int64(n) {
			return nil, fmt.Errorf("tokenizer: %s = %d is outside the vocabulary of %d tokens", k.key, v, n)
		}
		*k.dst = int32(v)
	}
	for _, k := range []struct {
		key string
		dst *bool
	}{
		{"tokenizer.ggml.add_bos_token", &t.addBOS},
		{"tokenizer.ggml.add_eos_token", &t.addEOS},
		{"tokenizer.ggml.add_space_prefix", &t.addSpacePrefix},
	} {
		if !md.Has(k.key) {
			continue
		}
		if *k.dst, err = md.Bool(k.key); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
	}
	if md.Has("tokenizer.chat_template") {
		if t.chatTemplate, err = md.String("tokenizer.chat_template"); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
	}

	switch t.kind {
	case KindBPE:
		pre := ""
		if md.Has("tokenizer.ggml.pre") {
			if pre, err = md.String("tokenizer.ggml.pre"); err != nil {
				return nil, fmt.Errorf("tokenizer: %w", err)
			}
		}
		if t.pre, err = newPreTokenizer(pre); err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		t.ignoreMerges = ignoreMergesPre[t.pre.name]
		merges, err := md.Strings("tokenizer.ggml.merges")
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		if err := t.buildBPE(merges); err != nil {
			return nil, err
		}
	case KindSPM:
		t.buildSPM()
	}
	t.buildSpecials()
	return t, nil
}

// buildSpecials indexes the tokens that are matched in raw text: control
// tokens (only when parsing specials) and user-defined ones (always), as
// llama.cpp does.
func (t *Tokenizer) buildSpecials() {
	t.specials = map[byte][]special{}
	hasControl := func(s string) bool {
		for id, tok := range t.tokens {
			if tok == s && t.types[id] == TypeControl {
				return true
			}
		}
		return false
	}
	t.phi3 = t.kind == KindSPM && hasControl("<|end|>") && hasControl("<|user|>")
	t.harmony = hasControl("<|return|>") && hasControl("<|call|>")
	for id, typ := range t.types {
		if typ != TypeControl && typ != TypeUserDefined || t.tokens[id] == "" {
			continue
		}
		s := t.tokens[id]
		sp := special{text: s, id: int32(id), control: typ == TypeControl}
		sp.rstrip, sp.lstrip = t.stripAttrs(s)
		t.specials[s[0]] = append(t.specials[s[0]], sp)
	}
	for b, l := range t.specials {
		sort.SliceStable(l, func(i, j int) bool { return len(l[i].text) > len(l[j].text) })
		t.specials[b] = l
	}
}

// stripAttrs gives the rstrip/lstrip flags of a special token. GGUF does
// not store them, so they are inferred per family: Phi-3 (SentencePiece
// with <|end|> and <|user|> as control tokens) ships every added token
// but </s> with rstrip, so "<|user|>\nHi" encodes as <|user|> ▁Hi.
func (t *Tokenizer) stripAttrs(text string) (rstrip, lstrip bool) {
	if t.kind == KindSPM && t.phi3 && text != "</s>" {
		return true, false
	}
	return false, false
}

// matchSpecial returns the longest special token at text[i:].
func (t *Tokenizer) matchSpecial(text string, i int, parseSpecial bool) (special, bool) {
	for _, s := range t.specials[text[i]] {
		if s.control && !parseSpecial {
			continue
		}
		if strings.HasPrefix(text[i:], s.text) {
			return s, true
		}
	}
	return special{}, false
}

// Encode returns the token ids of text. addSpecial adds the BOS/EOS tokens
// the vocabulary asks for (tokenizer.ggml.add_bos_token/add_eos_token);
// parseSpecial lets control tokens written in the text (e.g. <|start|>)
// become their ids instead of being tokenized as plain text. User-defined
// tokens are always matched.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	out := make([]int32, 0, len(text)/3+2)
	if addSpecial && t.addBOS && t.bos >= 0 {
		out = append(out, t.bos)
	}
	start := 0
	afterSpecial := true // the SentencePiece dummy prefix goes on text that starts a fragment
	for i := 0; i < len(text); {
		s, ok := t.matchSpecial(text, i, parseSpecial)
		if !ok {
			i++
			continue
		}
		frag := text[start:i]
		if s.lstrip {
			frag = strings.TrimRightFunc(frag, unicode.IsSpace)
		}
		if frag != "" {
			out = t.encodeFragment(frag, afterSpecial, out)
		}
		out = append(out, s.id)
		i += len(s.text)
		if s.rstrip {
			i += len(text[i:]) - len(strings.TrimLeftFunc(text[i:], unicode.IsSpace))
		}
		start = i
		afterSpecial = true
	}
	if start < len(text) {
		out = t.encodeFragment(text[start:], afterSpecial, out)
	}
	if addSpecial && t.addEOS && t.eos >= 0 {
		out = append(out, t.eos)
	}
	return out
}

func (t *Tokenizer) encodeFragment(text string, afterSpecial bool, out []int32) []int32 {
	if t.kind == KindSPM {
		return t.encodeSPM(text, afterSpecial && t.addSpacePrefix, out)
	}
	rs, off := runes(text)
	for _, w := range t.pre.split(text, rs, off) {
		out = t.encodeWord(w, out)
	}
	return out
}

// Decode returns the text of ids. Control tokens appear as their text;
// a SentencePiece vocabulary drops the one leading space its dummy prefix
// added, as HuggingFace's decoder does.
func (t *Tokenizer) Decode(ids []int32) string {
	var b []byte
	for _, id := range ids {
		b = t.appendPiece(b, id)
	}
	if t.kind == KindSPM && t.addSpacePrefix && len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return string(b)
}

// TokenPiece returns the bytes token id stands for (as a string, which may
// be an incomplete UTF-8 sequence): what a streaming printer appends.
// Out-of-range ids give "".
func (t *Tokenizer) TokenPiece(id int32) string { return string(t.appendPiece(nil, id)) }

// TokenText returns the token as stored in the vocabulary (e.g. "Ġthe").
func (t *Tokenizer) TokenText(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// TokenType returns tokenizer.ggml.token_type of id (0 when out of range).
func (t *Tokenizer) TokenType(id int32) int32 {
	if id < 0 || int(id) >= len(t.types) {
		return TypeUndefined
	}
	return t.types[id]
}

// IsControl reports whether id is a control token (BOS, EOS, <|end|>...).
func (t *Tokenizer) IsControl(id int32) bool { return t.TokenType(id) == TypeControl }

func (t *Tokenizer) appendPiece(b []byte, id int32) []byte {
	if id < 0 || int(id) >= len(t.tokens) {
		return b
	}
	s := t.tokens[id]
	switch t.types[id] {
	case TypeControl, TypeUserDefined, TypeUnknown:
		return append(b, s...)
	case TypeByte:
		if v, ok := parseByteToken(s); ok {
			return append(b, v)
		}
		return append(b, s...)
	}
	if t.kind == KindSPM {
		return append(b, strings.ReplaceAll(s, "\u2581", " ")...)
	}
	for _, r := range s {
		if v, ok := unicodeToByte(r); ok {
			b = append(b, v)
		} else {
			b = append(b, string(r)...)
		}
	}
	return b
}

// VocabSize is the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Kind reports the tokenizer algorithm.
func (t *Tokenizer) Kind() Kind { return t.kind }

// PreTokenizer names the pre-tokenizer of a BPE vocabulary ("" for SPM).
func (t *Tokenizer) PreTokenizer() string {
	if t.pre == nil {
		return ""
	}
	return t.pre.name
}

// BOS is the beginning-of-sequence id, -1 if the vocabulary has none.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS is the end-of-sequence id, -1 if the vocabulary has none.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT is the end-of-turn id (tokenizer.ggml.eot_token_id), -1 if none.
func (t *Tokenizer) EOT() int32 { return t.eot }

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS && t.bos >= 0 }

// AddEOS reports whether Encode with addSpecial appends EOS.
func (t *Tokenizer) AddEOS() bool { return t.addEOS && t.eos >= 0 }

// ChatTemplate is tokenizer.chat_template ("" if absent).
func (t *Tokenizer) ChatTemplate() string { return t.chatTemplate }

// IsEOG reports whether generation should stop at id: EOS, EOT, and the
// control tokens that end a turn in the supported families. As in
// llama.cpp, a Harmony vocabulary (gpt-oss: <|return|> and <|call|>
// present) does not stop at <|end|>, which closes the analysis channel
// before the final answer.
func (t *Tokenizer) IsEOG(id int32) bool {
	if id < 0 || int(id) >= len(t.tokens) {
		return false
	}
	if id == t.eos || id == t.eot {
		return true
	}
	if t.types[id] != TypeControl {
		return false
	}
	switch t.tokens[id] {
	case "<|end|>":
		return !t.harmony
	case "<|return|>", "<|call|>", "<|endoftext|>", "<|im_end|>", "<|eot_id|>",
		"<｜end▁of▁sentence｜>", "<｜end of sentence｜>", "</s>":
		return true
	}
	return false
}

// parseByteToken reads a SentencePiece byte piece "<0xAB>".
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || s[:3] != "<0x" || s[5] != '>' {
		return 0, false
	}
	var v byte
	for _, c := range []byte(s[3:5]) {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | (c - '0')
		case 'A' <= c && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		case 'a' <= c && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}
