package main

import (
	"github.com/gguftool/gguftool/runtime/tokenizer"
)

// renderChatPrompt wraps a user message in the model's chat template with
// the generation prompt appended, as transformers' apply_chat_template does
// (the result is encoded without adding BOS again: templates write it).
func renderChatPrompt(tok *tokenizer.Tokenizer, user string) (string, error) {
	return tok.RenderChat([]tokenizer.Message{{Role: "user", Content: user}}, true)
}
