package convert

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLlamaCppGreedy loads our conversions in llama.cpp (CPU build of the
// node-llama-cpp npm package) and compares its greedy continuation of the
// fixture prompt with the transformers reference. Opt-in: set
// GGUFTOOL_NODE_LLAMA_CPP to the node-llama-cpp package directory
// (e.g. node_modules/node-llama-cpp after `npm install node-llama-cpp@3.22.1`).
//
// gpt-oss is checked in f32: in f16 llama.cpp's own conversion diverges
// from the float32 reference after 6 tokens (llama.cpp's YaRN rounding
// makes the top two logits swap). deepseek-moe matches in f16. phimoe is
// only logged: llama.cpp's phimoe router is not the model's (see the
// fixtures README).
func TestLlamaCppGreedy(t *testing.T) {
	pkg := os.Getenv("GGUFTOOL_NODE_LLAMA_CPP")
	if pkg == "" {
		t.Skip("set GGUFTOOL_NODE_LLAMA_CPP to the node-llama-cpp package directory")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found")
	}
	pkg, _ = filepath.Abs(pkg)
	for _, c := range []struct {
		family, outtype string
		check           bool
	}{
		{"gpt-oss", "f32", true},
		{"deepseek-moe", "f16", true},
		{"phimoe", "f16", false},
	} {
		t.Run(c.family, func(t *testing.T) {
			var ref struct {
				PromptIDs []int `json:"prompt_ids"`
				Greedy    []int `json:"greedy_continuation"`
			}
			b, err := os.ReadFile(filepath.Join(fixtureRoot, c.family, "reference.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatal(err)
			}
			g := convertFixtureFile(t, c.family, c.outtype)
			ids := strings.Trim(strings.Join(strings.Fields(fmt.Sprint(ref.PromptIDs)), ","), "[]")
			out, err := exec.Command("node", "testdata/greedy.mjs", pkg, g, fmt.Sprint(len(ref.Greedy)), ids).CombinedOutput()
			if err != nil {
				t.Fatalf("node: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			var got []int
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
				t.Fatalf("node output %q: %v", out, err)
			}
			t.Logf("llama.cpp greedy %v, reference %v", got, ref.Greedy)
			if c.check && fmt.Sprint(got) != fmt.Sprint(ref.Greedy) {
				t.Errorf("llama.cpp greedy continuation %v, transformers %v", got, ref.Greedy)
			}
		})
	}
}

// convertFixtureFile converts a fixture (with its tokenizer) to a file.
func convertFixtureFile(t *testing.T, family, outtype string) string {
	t.Helper()
	g := convertFixture(t, family, outtype, false)
	return g.Path()
}
