package tokenizer

import (
	"fmt"
	"sync"
	"time"

	"github.com/gguftool/gguftool/runtime/tokenizer/jinja"
)

// Message is one chat turn.
type Message struct {
	Role    string // system, developer, user, assistant, tool
	Content string
	// Thinking is an assistant turn's reasoning (gpt-oss' "thinking"
	// field); the key is absent from the template's message when empty.
	Thinking string
}

// ChatOptions are the inputs of a chat template besides the messages.
type ChatOptions struct {
	AddGenerationPrompt bool
	// Tools is the tools list (OpenAI function format), e.g. decoded with
	// jinja.FromJSON; nil renders as none.
	Tools any
	// Vars are extra template variables (reasoning_effort, model_identity,
	// builtin_tools...), as transformers' apply_chat_template kwargs.
	Vars map[string]any
	// Now is the date strftime_now renders; zero means now.
	Now time.Time
}

type chatTemplate struct {
	once sync.Once
	tmpl *jinja.Template
	err  error
}

// RenderChat renders messages with the model's chat template
// (tokenizer.chat_template) as transformers' apply_chat_template does. The
// result contains special tokens as text: encode it with parseSpecial.
func (t *Tokenizer) RenderChat(messages []Message, addGenerationPrompt bool) (string, error) {
	msgs := make([]any, len(messages))
	for i, m := range messages {
		d := jinja.NewDict()
		d.Set("role", m.Role)
		d.Set("content", m.Content)
		if m.Thinking != "" {
			d.Set("thinking", m.Thinking)
		}
		msgs[i] = d
	}
	return t.RenderChatValues(msgs, ChatOptions{AddGenerationPrompt: addGenerationPrompt})
}

// RenderChatValues renders template values (see jinja.FromGo/FromJSON) as
// the messages, for turns with tool calls and other fields.
func (t *Tokenizer) RenderChatValues(messages any, opt ChatOptions) (string, error) {
	if t.chatTemplate == "" {
		return "", fmt.Errorf("tokenizer: the model has no chat template (tokenizer.chat_template)")
	}
	t.chat.once.Do(func() { t.chat.tmpl, t.chat.err = jinja.Parse(t.chatTemplate) })
	if t.chat.err != nil {
		return "", fmt.Errorf("tokenizer.chat_template: %w", t.chat.err)
	}
	vars := map[string]any{}
	for k, v := range opt.Vars {
		vars[k] = v
	}
	vars["messages"] = messages
	vars["add_generation_prompt"] = opt.AddGenerationPrompt
	vars["tools"] = opt.Tools
	vars["documents"] = nil
	// transformers passes the special tokens that are set, as text.
	for name, id := range map[string]int32{"bos_token": t.bos, "eos_token": t.eos, "unk_token": t.unk, "pad_token": t.pad} {
		if id >= 0 {
			vars[name] = t.tokens[id]
		}
	}
	out, err := t.chat.tmpl.Render(vars, jinja.Options{Now: opt.Now})
	if err != nil {
		return "", fmt.Errorf("tokenizer.chat_template: %w", err)
	}
	return out, nil
}
