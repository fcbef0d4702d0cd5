package convert

import "testing"

// The directory names of conversion.md §1.6 and the keys llama.cpp's
// metadata.py derives from them.
func TestModelIDComponents(t *testing.T) {
	for _, c := range []struct {
		id                                   string
		total                                int64
		title, basename, finetune, size, ver string
	}{
		{"gpt-oss-20b", 20_914_757_184, "Gpt Oss 20b", "gpt-oss", "", "20B", ""},
		{"gpt-oss-120b", 116_829_156_672, "Gpt Oss 120b", "gpt-oss", "", "120B", ""},
		{"Phi-3.5-MoE-instruct", 41_873_153_344, "Phi 3.5 MoE Instruct", "Phi-3.5-MoE", "instruct", "", ""},
		{"deepseek-moe-16b-chat", 16_375_728_128, "Deepseek Moe 16b Chat", "deepseek-moe", "chat", "16B", ""},
		{"DeepSeek-V2-Lite-Chat", 15_706_484_224, "DeepSeek V2 Lite Chat", "DeepSeek-V2-Lite", "Chat", "", ""},
		{"DeepSeek-V2-Lite", 15_706_484_224, "DeepSeek V2 Lite", "", "", "", ""},
		{"gpt-oss", 1_732_644, "Gpt Oss", "", "", "", ""},
		{"deepseek-v2-lite", 2_000_000, "Deepseek v2 Lite", "", "", "", ""},
		// A context length is not a size label: it becomes a finetune.
		{"llama-7b-32k", 6_738_415_616, "Llama 7b 32k", "llama", "32K", "7B", ""},
	} {
		full, _, base, ft, ver, size := modelIDComponents(c.id, c.total)
		if title := idToTitle(full); title != c.title || base != c.basename || ft != c.finetune || size != c.size || ver != c.ver {
			t.Errorf("%s: title %q basename %q finetune %q size %q version %q; want %q %q %q %q %q",
				c.id, title, base, ft, size, ver, c.title, c.basename, c.finetune, c.size, c.ver)
		}
	}
}

func TestSizeLabel(t *testing.T) {
	if got := sizeLabel(1_732_644, 1_142_820, 589_824, 8); got != "8x1.7M" {
		t.Errorf("got %s", got)
	}
	if got := sizeLabel(20_914_757_184, 0, 0, 0); got != "21B" {
		t.Errorf("got %s", got)
	}
	if got := sizeLabel(116_829_156_672, 0, 0, 0); got != "117B" {
		t.Errorf("got %s", got)
	}
	if got := sizeLabel(500_000, 0, 0, 0); got != "500K" {
		t.Errorf("got %s", got)
	}
	if got := sizeLabel(1_500_000, 0, 0, 0); got != "1.5M" {
		t.Errorf("got %s", got)
	}
}
