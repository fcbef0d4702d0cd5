package main

import (
	"os"
	"strings"
	"testing"
)

// TestDemo runs the README's first command from the repository root.
func TestDemo(t *testing.T) {
	wd, _ := os.Getwd()
	if err := os.Chdir("../.."); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	stdout, stderr, code := runCLI(t, "demo", "--dir", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, stdout)
	}
	for _, want := range []string{"$ gguftool convert", "$ gguftool quantize", "$ gguftool plan", "--n-cpu-moe 2",
		"greedy tokens equal to transformers' reference: 12 of 12"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}
