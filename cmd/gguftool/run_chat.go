package main

import (
	"fmt"

	"github.com/gguftool/gguftool/runtime/tokenizer"
)

// renderChatPrompt wraps a user message in the model's chat template with
// the generation prompt appended.
func renderChatPrompt(tok *tokenizer.Tokenizer, user string) (string, error) {
	if tok.ChatTemplate() == "" {
		return "", errNoChatTemplate
	}
	return "", fmt.Errorf("chat template rendering is not available yet in runtime/tokenizer")
}
