package convert

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// tokenizer.ggml.pre only selects which pre-tokenizer regexes llama.cpp runs
// (src/llama-vocab.cpp). llama.cpp's converter finds it by hashing the token
// ids of a test string, which needs the HF tokenizer; gguftool recognizes the
// pre_tokenizer section of tokenizer.json instead (conversion.md §8.2). Each
// entry is the exact sequence of Split regexes of the tokenizer family,
// followed by ByteLevel(use_regex=false) unless stated otherwise.

// knownPreTokenizer is one recognizable pre_tokenizer configuration.
type knownPreTokenizer struct {
	name   string   // llama.cpp's pre-tokenizer name
	splits []string // Split(Regex, Isolated) patterns, in order
	// byteLevelRegex: the final ByteLevel splits with the GPT-2 regex itself
	// (use_regex=true) instead of following Split steps.
	byteLevelRegex bool
}

var knownPreTokenizers = []knownPreTokenizer{
	// o200k (GPT-4o, gpt-oss)
	{
		name: "gpt-4o",
		splits: []string{
			"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
		},
	},
	// Llama 3
	{
		name: "llama-bpe",
		splits: []string{
			"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
		},
	},
	// Qwen2
	{
		name: "qwen2",
		splits: []string{
			"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
		},
	},
	// DeepSeek-LLM, DeepSeek-MoE, DeepSeek-V2
	{
		name: "deepseek-llm",
		splits: []string{
			"[\r\n]",
			"\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
			"\\s?[!-/:-~！-／：-～‘-‟　-。]+",
			"\\s+$",
			"[一-龥ࠀ-一가-퟿]+",
			"\\p{N}+",
		},
	},
	// DeepSeek-V3
	{
		name: "deepseek-v3",
		splits: []string{
			"\\p{N}{1,3}",
			"[一-龥぀-ゟ゠-ヿ]+",
			"[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
		},
	},
	// GPT-2: no Split, ByteLevel applies the GPT-2 regex itself.
	{name: "gpt-2", byteLevelRegex: true},
}

// preStep is one normalized pre-tokenizer step.
type preStep struct {
	kind  string // "Split", "ByteLevel" or another tokenizers type
	regex string // Split: the pattern (Regex form; String form is quoted)
	desc  string // canonical description, for matching and messages
}

// preTokenizerSteps flattens tokenizer.json's pre_tokenizer into steps.
func preTokenizerSteps(pre any) []preStep {
	obj := tokObject(pre)
	if obj == nil {
		return nil
	}
	items := []any{obj}
	if obj["type"] == "Sequence" {
		items = tokList(obj["pretokenizers"])
	}
	var steps []preStep
	for _, it := range items {
		o := tokObject(it)
		typ, _ := o["type"].(string)
		switch typ {
		case "Split":
			pat := tokObject(o["pattern"])
			regex, isRegex := pat["Regex"].(string)
			if !isRegex {
				s, _ := pat["String"].(string)
				regex = "String:" + s
			}
			behavior, _ := o["behavior"].(string)
			invert, _ := o["invert"].(bool)
			steps = append(steps, preStep{kind: "Split", regex: regex,
				desc: fmt.Sprintf("Split(%q, %s, invert=%v)", regex, behavior, invert)})
		case "ByteLevel":
			// tokenizers' defaults: add_prefix_space and use_regex are true.
			aps, ok := o["add_prefix_space"].(bool)
			if !ok {
				aps = true
			}
			ur, ok := o["use_regex"].(bool)
			if !ok {
				ur = true
			}
			steps = append(steps, preStep{kind: "ByteLevel",
				desc: fmt.Sprintf("ByteLevel(add_prefix_space=%v, use_regex=%v)", aps, ur)})
		default:
			raw, _ := json.Marshal(it)
			if typ == "" {
				typ = "?"
			}
			steps = append(steps, preStep{kind: typ, desc: string(raw)})
		}
	}
	return steps
}

// signature is the canonical description of a known entry's steps.
func (k knownPreTokenizer) signature() []string {
	var sig []string
	for _, r := range k.splits {
		sig = append(sig, fmt.Sprintf("Split(%q, Isolated, invert=false)", r))
	}
	return append(sig, fmt.Sprintf("ByteLevel(add_prefix_space=false, use_regex=%v)", k.byteLevelRegex))
}

// detectPreTokenizer names the pre-tokenizer of tok, or explains how to name
// it when it is not one gguftool knows.
func detectPreTokenizer(tok *tokenizerJSON) (string, error) {
	steps := preTokenizerSteps(tok.PreTokenizer)
	var descs []string
	for _, s := range steps {
		descs = append(descs, s.desc)
	}
	for _, k := range knownPreTokenizers {
		if slices.Equal(descs, k.signature()) {
			return k.name, nil
		}
	}
	var names []string
	for _, k := range knownPreTokenizers {
		names = append(names, k.name)
	}
	got := "none"
	if len(descs) > 0 {
		got = strings.Join(descs, "; ")
	}
	if len(got) > 2000 {
		got = got[:2000] + "…"
	}
	return "", fmt.Errorf("%s: %w: %s. llama.cpp needs tokenizer.ggml.pre to pick its pre-tokenizer regexes; "+
		"if you know which one this tokenizer uses, name it with `gguftool convert --tokenizer-pre NAME` "+
		"(recognized automatically: %s; llama.cpp knows more, see its src/llama-vocab.cpp)",
		tok.path, ErrUnknownPreTokenizer, got, strings.Join(names, ", "))
}
