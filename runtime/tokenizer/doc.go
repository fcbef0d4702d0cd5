// Package tokenizer turns text into token ids and back for the models
// gguftool runs, from the tokenizer.* keys of a GGUF file, and renders their
// chat templates.
//
// Vocabularies (tokenizer.ggml.model):
//   - "gpt2": byte-level BPE with ranked merges. tokenizer.ggml.pre selects
//     the pre-tokenizer: gpt-4o (o200k, GPT-OSS), deepseek-llm,
//     deepseek-coder, deepseek-v3, llama-bpe/llama3, qwen2, and gpt2/default
//     (the original GPT-2 regex). The regexes are hand-written scanners
//     (Go's regexp has neither lookahead nor \p{..} set arithmetic) checked
//     against the regexes themselves on random text. gpt-4o and llama3
//     emit a word that is a whole vocabulary entry directly, as their HF
//     tokenizers (ignore_merges) and tiktoken do.
//   - "llama": SentencePiece BPE: the best-scoring adjacent pair whose
//     concatenation is a normal piece merges first, text that is no piece
//     falls back to <0xXX> byte tokens, spaces become U+2581 with one in
//     front of every text fragment (tokenizer.ggml.add_space_prefix).
//
// Control and user-defined tokens are matched in the text first (leftmost,
// longest), control ones only when special tokens are parsed. GGUF keeps no
// rstrip/lstrip flags; Phi-3 vocabularies get the rstrip their HF
// tokenizer gives every added token but </s>.
//
// Where HuggingFace and llama.cpp disagree this package follows
// HuggingFace, whose ids the reference logits were computed from: llama.cpp
// splits o200k words before combining marks, and gives </s> rstrip for
// models named phi3 (llamacpp_test.go pins both).
//
// Chat templates (RenderChat) run on the Jinja subset of package jinja with
// transformers' settings; templates outside the subset are refused with an
// error naming the construct.
package tokenizer
