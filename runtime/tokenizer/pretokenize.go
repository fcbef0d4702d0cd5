package tokenizer

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// A pre-tokenizer cuts text into the pieces ("words") that BPE then encodes
// one at a time. HuggingFace describes them as a sequence of regex splits
// (behavior "Isolated": every match and every gap between matches becomes a
// piece, and the next split refines each piece on its own). Go's regexp has
// no lookahead and no \p{..} set arithmetic, so each regex is a hand-written
// matcher that reproduces the backtracking regex engine's leftmost-first
// result exactly.

// matcher reports the end (exclusive rune index) of the match of one regex
// that starts at rs[i], looking at no rune at or after n; -1 if none. A
// matcher never matches the empty string.
type matcher func(rs []rune, i, n int) int

// preTokenizer is an ordered list of Isolated splits.
type preTokenizer struct {
	name   string
	splits []matcher
}

// preTokenizers maps tokenizer.ggml.pre to its splits. Names not listed
// are refused, as llama.cpp refuses them.
var preTokenizers = map[string][]matcher{
	"gpt-4o":         {matchO200k},
	"deepseek-llm":   {matchNewline, matchDeepseekLetters, matchDeepseekPunct, matchTrailingSpace, matchDeepseekCJK, matchNumbers},
	"deepseek-coder": {matchNewline, matchSpaceLetters, matchSpacePunct, matchDeepseekCJK, matchOneNumber},
	"deepseek-v3":    {matchDigits3, matchDeepseekV3CJK, matchDeepseekV3},
	"llama-bpe":      {matchLlama3},
	"llama3":         {matchLlama3},
	"qwen2":          {matchQwen2},
	"gpt2":           {matchGPT2},
	"default":        {matchGPT2},
}

// ignoreMergesPre lists the pre-tokenizers whose HF models set
// ignore_merges: a word that is a whole vocabulary entry is emitted as that
// token without running merges (tiktoken does the same).
var ignoreMergesPre = map[string]bool{"gpt-4o": true, "llama-bpe": true, "llama3": true}

func newPreTokenizer(name string) (*preTokenizer, error) {
	if name == "" {
		name = "default"
	}
	s, ok := preTokenizers[name]
	if !ok {
		names := make([]string, 0, len(preTokenizers))
		for k := range preTokenizers {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("tokenizer.ggml.pre %q is not supported (supported: %s)", name, strings.Join(names, ", "))
	}
	return &preTokenizer{name: name, splits: s}, nil
}

// split returns the pieces of text, in order; their concatenation is text.
func (p *preTokenizer) split(text string, rs []rune, off []int) []string {
	// spans are rune ranges [a, b); each split refines every span.
	spans := [][2]int{{0, len(rs)}}
	var next [][2]int
	for _, m := range p.splits {
		next = next[:0]
		for _, sp := range spans {
			next = splitSpan(rs, sp[0], sp[1], m, next)
		}
		spans, next = next, spans
	}
	out := make([]string, len(spans))
	for i, sp := range spans {
		out[i] = text[off[sp[0]]:off[sp[1]]]
	}
	return out
}

// splitSpan appends the matches of m in rs[a:b] and the gaps between them.
// The matcher sees only the piece, as the regex does (its $ and lookahead
// stop at the piece's end, and rs[i-1] is in the piece).
func splitSpan(rs []rune, a, b int, m matcher, out [][2]int) [][2]int {
	piece := rs[a:b]
	gap := a
	for i := a; i < b; {
		e := m(piece, i-a, b-a)
		if e > 0 {
			e += a
		}
		if e <= i {
			i++
			continue
		}
		if gap < i {
			out = append(out, [2]int{gap, i})
		}
		out = append(out, [2]int{i, e})
		i, gap = e, e
	}
	if gap < b {
		out = append(out, [2]int{gap, b})
	}
	return out
}

// runes decodes text into runes and the byte offset of each (plus the end).
// Invalid UTF-8 bytes become U+FFFD but keep their own offsets.
func runes(text string) ([]rune, []int) {
	rs := make([]rune, 0, len(text))
	off := make([]int, 0, len(text)+1)
	for i, r := range text {
		rs = append(rs, r)
		off = append(off, i)
	}
	off = append(off, len(text))
	return rs, off
}

// Character classes.

func isL(r rune) bool { return unicode.IsLetter(r) }
func isN(r rune) bool { return unicode.IsNumber(r) }
func isM(r rune) bool { return unicode.IsMark(r) }

// isS is \s: Unicode White_Space, as Oniguruma and Go agree.
func isS(r rune) bool    { return unicode.IsSpace(r) }
func isCRLF(r rune) bool { return r == '\r' || r == '\n' }

// isPS is [\p{P}\p{S}].
func isPS(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }

// isUpperish is [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] of the o200k regex.
func isUpperish(r rune) bool {
	if r < 0x80 {
		return 'A' <= r && r <= 'Z'
	}
	return unicode.In(r, unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M)
}

// isLowerish is [\p{Ll}\p{Lm}\p{Lo}\p{M}] of the o200k regex.
func isLowerish(r rune) bool {
	if r < 0x80 {
		return 'a' <= r && r <= 'z'
	}
	return unicode.In(r, unicode.Ll, unicode.Lm, unicode.Lo, unicode.M)
}

// isNotCRLFLN is [^\r\n\p{L}\p{N}].
func isNotCRLFLN(r rune) bool { return !isCRLF(r) && !isL(r) && !isN(r) }

// isNotSLN is [^\s\p{L}\p{N}].
func isNotSLN(r rune) bool { return !isS(r) && !isL(r) && !isN(r) }

// run returns the end of the run of runes satisfying f starting at i.
func run(rs []rune, i, n int, f func(rune) bool) int {
	for i < n && f(rs[i]) {
		i++
	}
	return i
}

// contraction matches (?i:'s|'t|'re|'ve|'m|'ll|'d) at i; it returns i when
// there is none. Case folding: U+017F (long s) folds to s, U+212A to k
// (no k here).
func contraction(rs []rune, i, n int) int {
	if i+1 >= n || rs[i] != '\'' {
		return i
	}
	lower := func(r rune) rune {
		if r == 0x17F {
			return 's'
		}
		if 'A' <= r && r <= 'Z' {
			return r + 32
		}
		return r
	}
	c := lower(rs[i+1])
	switch c {
	case 's', 't', 'm', 'd':
		return i + 2
	}
	if i+2 < n {
		d := lower(rs[i+2])
		switch {
		case c == 'r' && d == 'e', c == 'v' && d == 'e', c == 'l' && d == 'l':
			return i + 3
		}
	}
	return i
}

// spaceTail matches the three whitespace alternatives shared by the
// GPT-style regexes: \s*[\r\n]+ | \s+(?!\S) | \s+ .
func spaceTail(rs []rune, i, n int) int {
	e := run(rs, i, n, isS)
	if e == i {
		return -1
	}
	// \s*[\r\n]+ : \s* backtracks to the last newline of the run.
	for j := e - 1; j >= i; j-- {
		if isCRLF(rs[j]) {
			return j + 1
		}
	}
	// \s+(?!\S): the whole run at the end of the piece, else all but the
	// last rune (which then satisfies the lookahead).
	if e == n {
		return e
	}
	if e-i >= 2 {
		return e - 1
	}
	return e // \s+
}

// spaceTailNoNewline is \s+(?!\S)|\s+ (GPT-2 regex, without the newline rule).
func spaceTailNoNewline(rs []rune, i, n int) int {
	e := run(rs, i, n, isS)
	if e == i {
		return -1
	}
	if e == n || e-i == 1 {
		return e
	}
	return e - 1
}

// matchO200k is the GPT-4o (o200k_base) regex:
//
//	[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//	|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
func matchO200k(rs []rune, i, n int) int {
	// The optional leading char is tried first taken, then not taken.
	starts := [2]int{-1, i}
	if isNotCRLFLN(rs[i]) {
		starts[0] = i + 1
	}
	// Alternative 1: U* then L+; U* gives back runes until one is in L.
	for _, s := range starts {
		if s < 0 || s > n {
			continue
		}
		k := run(rs, s, n, isUpperish)
		for j := k; j >= s; j-- {
			if j < n && isLowerish(rs[j]) {
				return contraction(rs, run(rs, j+1, n, isLowerish), n)
			}
		}
	}
	// Alternative 2: U+ then L*.
	for _, s := range starts {
		if s < 0 || s >= n || !isUpperish(rs[s]) {
			continue
		}
		e := run(rs, run(rs, s, n, isUpperish), n, isLowerish)
		return contraction(rs, e, n)
	}
	if isN(rs[i]) {
		e := i + 1
		for e < n && e < i+3 && isN(rs[e]) {
			e++
		}
		return e
	}
	s := i
	if rs[s] == ' ' {
		s++
	}
	if s < n && isNotSLN(rs[s]) {
		e := run(rs, s+1, n, isNotSLN)
		return run(rs, e, n, func(r rune) bool { return isCRLF(r) || r == '/' })
	}
	return spaceTail(rs, i, n)
}

// matchLlama3 is the Llama 3 regex (llama-bpe):
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func matchLlama3(rs []rune, i, n int) int { return matchLlamaLike(rs, i, n, 3) }

// matchQwen2 is the Llama 3 regex with single digits (\p{N}).
func matchQwen2(rs []rune, i, n int) int { return matchLlamaLike(rs, i, n, 1) }

func matchLlamaLike(rs []rune, i, n, maxDigits int) int {
	if e := contraction(rs, i, n); e > i {
		return e
	}
	if isNotCRLFLN(rs[i]) && i+1 < n && isL(rs[i+1]) {
		return run(rs, i+1, n, isL)
	}
	if isL(rs[i]) {
		return run(rs, i, n, isL)
	}
	if isN(rs[i]) {
		e := i + 1
		for e < n && e < i+maxDigits && isN(rs[e]) {
			e++
		}
		return e
	}
	s := i
	if rs[s] == ' ' {
		s++
	}
	if s < n && isNotSLN(rs[s]) {
		return run(rs, run(rs, s+1, n, isNotSLN), n, isCRLF)
	}
	return spaceTail(rs, i, n)
}

// matchGPT2 is the original GPT-2 regex:
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func matchGPT2(rs []rune, i, n int) int {
	if i+1 < n && rs[i] == '\'' {
		switch rs[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		}
		if i+2 < n && (rs[i+1] == 'r' && rs[i+2] == 'e' || rs[i+1] == 'v' && rs[i+2] == 'e' || rs[i+1] == 'l' && rs[i+2] == 'l') {
			return i + 3
		}
	}
	s := i
	if rs[s] == ' ' && s+1 < n {
		s++
	}
	for _, f := range []func(rune) bool{isL, isN, isNotSLN} {
		if f(rs[s]) {
			return run(rs, s+1, n, f)
		}
	}
	return spaceTailNoNewline(rs, i, n)
}

// Splits of the DeepSeek LLM pre-tokenizer (deepseek-llm), in order:
// [\r\n] ; \s?[letters]+ ; \s?[!-/:-~！-／：-～‘-‟　-。]+ ; \s+$ ; [一-龥ࠀ-一가-퟿]+ ; \p{N}+

func matchNewline(rs []rune, i, n int) int {
	if isCRLF(rs[i]) {
		return i + 1
	}
	return -1
}

// optSpaceRun matches \s?[class]+ (the optional \s is tried taken first).
func optSpaceRun(rs []rune, i, n int, class func(rune) bool) int {
	if isS(rs[i]) && i+1 < n && class(rs[i+1]) {
		return run(rs, i+2, n, class)
	}
	if class(rs[i]) {
		return run(rs, i+1, n, class)
	}
	return -1
}

func matchDeepseekLetters(rs []rune, i, n int) int { return optSpaceRun(rs, i, n, isDeepseekLetter) }
func matchDeepseekPunct(rs []rune, i, n int) int   { return optSpaceRun(rs, i, n, isDeepseekPunct) }
func matchSpaceLetters(rs []rune, i, n int) int    { return optSpaceRun(rs, i, n, isL) }
func matchSpacePunct(rs []rune, i, n int) int      { return optSpaceRun(rs, i, n, unicode.IsPunct) }

// matchTrailingSpace is \s+$ : whitespace that runs to the end of the piece.
// When the rune before i is whitespace the attempt there failed already
// (same run, same end), which keeps long runs linear.
func matchTrailingSpace(rs []rune, i, n int) int {
	if i > 0 && isS(rs[i-1]) {
		return -1
	}
	if isS(rs[i]) && run(rs, i, n, isS) == n {
		return n
	}
	return -1
}

func matchDeepseekCJK(rs []rune, i, n int) int {
	f := func(r rune) bool {
		return r >= 0x4E00 && r <= 0x9FA5 || r >= 0x0800 && r <= 0x4E00 || r >= 0xAC00 && r <= 0xD7FF
	}
	if f(rs[i]) {
		return run(rs, i+1, n, f)
	}
	return -1
}

func matchNumbers(rs []rune, i, n int) int {
	if isN(rs[i]) {
		return run(rs, i+1, n, isN)
	}
	return -1
}

func matchOneNumber(rs []rune, i, n int) int {
	if isN(rs[i]) {
		return i + 1
	}
	return -1
}

func isDeepseekPunct(r rune) bool {
	return r >= '!' && r <= '/' || r >= ':' && r <= '~' || r >= 0xFF01 && r <= 0xFF0F ||
		r >= 0xFF1A && r <= 0xFF5E || r >= 0x2018 && r <= 0x201F || r >= 0x3000 && r <= 0x3002
}

// deepseekLetters is the explicit letter class of the deepseek-llm regex
// (cased letters of Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee,
// Glagolitic, Coptic, Deseret, Osage, Old Hungarian, Warang Citi, Adlam).
var deepseekLetters = [][2]rune{
	{0x0041, 0x005A}, {0x0061, 0x007A}, {0x00B5, 0x00B5}, {0x00C0, 0x00D6}, {0x00D8, 0x00F6}, {0x00F8, 0x01BA},
	{0x01BC, 0x01BF}, {0x01C4, 0x0293}, {0x0295, 0x02AF}, {0x0370, 0x0373}, {0x0376, 0x0377}, {0x037B, 0x037D},
	{0x037F, 0x037F}, {0x0386, 0x0386}, {0x0388, 0x038A}, {0x038C, 0x038C}, {0x038E, 0x03A1}, {0x03A3, 0x03F5},
	{0x03F7, 0x0481}, {0x048A, 0x052F}, {0x0531, 0x0556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD},
	{0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15},
	{0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
	{0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4},
	{0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC},
	{0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124},
	{0x2126, 0x2126}, {0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F},
	{0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE},
	{0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787}, {0xA78B, 0xA78E},
	{0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F},
	{0x104B0, 0x104D3}, {0x104D8, 0x104FB}, {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF},
	{0x1E900, 0x1E943},
}

func isDeepseekLetter(r rune) bool {
	if r < 0x80 {
		return 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z'
	}
	k := sort.Search(len(deepseekLetters), func(i int) bool { return deepseekLetters[i][1] >= r })
	return k < len(deepseekLetters) && deepseekLetters[k][0] <= r
}

// Splits of the DeepSeek V3 pre-tokenizer (deepseek-v3), in order:
// \p{N}{1,3} ; [一-龥぀-ゟ゠-ヿ]+ ; then
// [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+

func matchDigits3(rs []rune, i, n int) int {
	if !isN(rs[i]) {
		return -1
	}
	e := i + 1
	for e < n && e < i+3 && isN(rs[e]) {
		e++
	}
	return e
}

func matchDeepseekV3CJK(rs []rune, i, n int) int {
	f := func(r rune) bool { return r >= 0x4E00 && r <= 0x9FA5 || r >= 0x3040 && r <= 0x30FF }
	if f(rs[i]) {
		return run(rs, i+1, n, f)
	}
	return -1
}

func isASCIIPunct(r rune) bool {
	return r >= '!' && r <= '/' || r >= ':' && r <= '@' || r >= '[' && r <= '`' || r >= '{' && r <= '~'
}
func isASCIILetter(r rune) bool { return 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' }
func isLM(r rune) bool          { return isL(r) || isM(r) }

func matchDeepseekV3(rs []rune, i, n int) int {
	r := rs[i]
	if isASCIIPunct(r) && i+1 < n && isASCIILetter(rs[i+1]) {
		return run(rs, i+2, n, isASCIILetter)
	}
	// [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
	if !isCRLF(r) && !isL(r) && !isPS(r) && i+1 < n && isLM(rs[i+1]) {
		return run(rs, i+2, n, isLM)
	}
	if isLM(r) {
		return run(rs, i+1, n, isLM)
	}
	s := i
	if r == ' ' {
		s++
	}
	if s < n && isPS(rs[s]) {
		return run(rs, run(rs, s+1, n, isPS), n, isCRLF)
	}
	return spaceTail(rs, i, n)
}
