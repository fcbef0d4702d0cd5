package convert

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

func TestModelCard(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Phi-3.5-MoE-instruct")
	os.MkdirAll(dir, 0o755)
	readme := `---
license: mit
license_link: https://huggingface.co/microsoft/Phi-3.5-MoE-instruct/resolve/main/LICENSE
language:
- multilingual
pipeline_tag: text-generation
tags:
- nlp
- code
widget:
- messages:
  - role: user
    content: Can you provide ways to eat combinations of bananas and dragonfruits?
library_name: transformers
base_model: microsoft/Phi-3.5-mini-instruct # a comment
datasets: ["org/data-v2", https://huggingface.co/other/set]
---
# Phi-3.5-MoE
text: not front matter
`
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	c := readModelCard(dir)
	if fmt.Sprint(c["tags"]) != "[nlp code]" || c["license"] != "mit" || fmt.Sprint(c["language"]) != "[multilingual]" || c["widget"] != nil || c["text"] != nil {
		t.Fatalf("card %v", c)
	}
	a := deriveAuthorship(dir, &config{m: map[string]any{}}, nil, Overrides{})
	md := gguf.NewMetadata()
	addAuthorship(md, a)
	want := []string{
		"general.name=Phi 3.5 MoE Instruct", "general.finetune=instruct", "general.basename=Phi-3.5-MoE",
		"general.license=mit", "general.license.link=https://huggingface.co/microsoft/Phi-3.5-MoE-instruct/resolve/main/LICENSE",
		"general.base_model.count=1", "general.base_model.0.name=Phi 3.5 Mini Instruct", "general.base_model.0.organization=Microsoft",
		"general.base_model.0.repo_url=https://huggingface.co/microsoft/Phi-3.5-mini-instruct",
		"general.dataset.count=2", "general.dataset.0.name=Data v2", "general.dataset.0.version=v2", "general.dataset.0.organization=Org",
		"general.dataset.0.repo_url=https://huggingface.co/datasets/org/data-v2",
		"general.dataset.1.name=Set", "general.dataset.1.organization=Other", "general.dataset.1.repo_url=https://huggingface.co/other/set",
		"general.tags=[nlp code text-generation]", "general.languages=[multilingual]",
	}
	var got []string
	for _, kv := range md.KVs() {
		got = append(got, kv.Key+"="+fmt.Sprint(kv.Value.Any()))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("keys\n got %q\nwant %q", got, want)
	}
	// No README: nothing but the directory-derived keys.
	if c := readModelCard(t.TempDir()); len(c) != 0 {
		t.Errorf("card without README: %v", c)
	}
}
