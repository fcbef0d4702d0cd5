package publish

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sourceCheckpoint makes a checkpoint folder with the deepseek-moe fixture's
// config.json and a README whose front matter the card must pick up.
func sourceCheckpoint(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "deepseek-moe-16b-base")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(fixtures + "/deepseek-moe/config.json")
	if err != nil {
		t.Fatal(err)
	}
	readme := "---\n# a comment\nlicense: other\nlicense_name: deepseek\nlicense_link: \"https://github.com/deepseek-ai/DeepSeek-MoE/blob/main/LICENSE-MODEL\"\n" +
		"base_model:\n  - deepseek-ai/deepseek-moe-16b-base\ntags: [moe, 'deep seek']\n---\n\n# DeepSeek-MoE\n"
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(readme), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCardGolden publishes a llama-quantize Q4_K_M fixture (two shards)
// with a source checkpoint and compares the card with the golden file. Two
// runs must give the same card: nothing in it depends on time or place.
func TestCardGolden(t *testing.T) {
	src := sourceCheckpoint(t)
	opts := Options{Models: []string{fixtures + "/quant/presets-Q4_K_M.gguf"}, Source: src,
		SplitMaxSize: 1_000_000, Planner: ProjectPlanner{}, Repo: "gguftool/deepseek-moe-tiny-GGUF"}
	dir1, res := publishTo(t, opts)
	dir2, _ := publishTo(t, opts)
	card, err := os.ReadFile(filepath.Join(dir1, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(dir2, "README.md"))
	if string(card) != string(again) {
		t.Fatal("two runs gave different cards")
	}
	for _, name := range []string{"manifest.json", "SHA256SUMS"} {
		a, _ := os.ReadFile(filepath.Join(dir1, name))
		b, _ := os.ReadFile(filepath.Join(dir2, name))
		if string(a) != string(b) {
			t.Errorf("two runs gave different %s", name)
		}
	}
	golden := "testdata/card-presets-Q4_K_M.md"
	if *update {
		if err := os.WriteFile(golden, card, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(card) != string(want) {
		t.Errorf("card differs from %s (go test ./publish -run TestCardGolden -update rewrites it):\n%s", golden, card)
	}

	// What the card must say, whatever the wording.
	s := string(card)
	for _, want := range []string{
		"license: other\nlicense_name: deepseek\n",
		"base_model:\n- deepseek-ai/deepseek-moe-16b-base\n",
		"- gguf\n- moe\n- cpu-offload\n- llama.cpp\n",
		"pipeline_tag: text-generation\n", "quantized_by: gguftool\n",
		"gguftool test", "config.json` sha256 `" + res.Manifest.Source.ConfigSHA256,
		"general.file_type 15 (Q4_K_M)", "--n-cpu-moe", "FROM ./presets-Q4_K_M.gguf", "llama-gguf-split --merge",
		"| `presets-Q4_K_M` | 4096 |", "| `presets-Q4_K_M` | 32768 (trained for 4096) |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("card lacks %q", want)
		}
	}
	if strings.Contains(s, "## Benchmark") {
		t.Error("card has a benchmark section without --bench")
	}
	if res.UploadCommand != "hf upload gguftool/deepseek-moe-tiny-GGUF "+dir1+" ." {
		t.Errorf("upload command %q", res.UploadCommand)
	}
}

func TestCardBench(t *testing.T) {
	bench := filepath.Join(t.TempDir(), "bench.json")
	os.WriteFile(bench, []byte(`{"model": "/home/me/presets-Q4_K_M.gguf", "model_bytes": 1499072,
  "machine": {"cpu": "AMD EPYC 9454 (16 cores)", "memory_read_gb_per_s": 83.21, "gpu": null},
  "results": [{"test": "pp512", "tokens_per_s": 1234.5678, "sd": 3.2},
              {"test": "tg128", "tokens_per_s": 45.6789012, "sd": 0.11, "fraction_of_bound": 0.61}]}`), 0o644)
	dir, res := publishTo(t, Options{Models: []string{fixtures + "/quant/presets-Q4_K_M.gguf"}, BenchPath: bench})
	card, _ := os.ReadFile(filepath.Join(dir, "README.md"))
	for _, want := range []string{"## Benchmark", "on `presets-Q4_K_M.gguf`", "- model_bytes: 1499072\n", "- cpu: AMD EPYC 9454 (16 cores)", "- memory_read_gb_per_s: 83.21",
		"| test | tokens_per_s | sd | fraction_of_bound |", "| pp512 | 1234.5678 | 3.2 |  |", "| tg128 | 45.6789012 | 0.11 | 0.61 |"} {
		if !strings.Contains(string(card), want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	if len(res.Manifest.Bench) == 0 {
		t.Error("manifest lacks the bench result")
	}
	if strings.Contains(string(card), "## Memory") {
		t.Error("memory section without a planner")
	}

	for name, body := range map[string]string{
		"no machine": `{"results": [{"test": "pp512", "tokens_per_s": 1}]}`,
		"no results": `{"machine": {"cpu": "x"}}`,
		"not json":   `pp512 1234 t/s`,
	} {
		p := filepath.Join(t.TempDir(), "bench.json")
		os.WriteFile(p, []byte(body), 0o644)
		out := filepath.Join(t.TempDir(), "release")
		_, err := Publish(t.Context(), Options{Models: []string{fixtures + "/quant/presets-Q4_K_M.gguf"}, OutDir: out, BenchPath: p})
		if err == nil || !strings.Contains(err.Error(), "bench result") {
			t.Errorf("%s: got %v", name, err)
		}
		assertNothingLeft(t, out)
	}
}

func TestFrontMatter(t *testing.T) {
	fm, err := ParseFrontMatter("---\nlicense: apache-2.0 # comment\nbase_model: [\"a/b\", c/d]\nlanguage:\n- en\n- 'fr'\nwidget:\n  - text: hi\n---\nbody")
	if err != nil {
		t.Fatal(err)
	}
	if fm.Scalar("license") != "apache-2.0" || strings.Join(fm.List("base_model"), ",") != "a/b,c/d" || strings.Join(fm.List("language"), ",") != "en,fr" {
		t.Errorf("got license %q base_model %q language %q", fm.Scalar("license"), fm.List("base_model"), fm.List("language"))
	}
	if _, err := ParseFrontMatter("---\nlicense: mit\n"); err == nil {
		t.Error("unterminated front matter accepted")
	}
	if fm, err := ParseFrontMatter("# no front matter"); err != nil || fm.Scalar("license") != "" {
		t.Errorf("%v %v", fm, err)
	}
	for in, want := range map[string]string{"apache-2.0": "apache-2.0", "a/b": "a/b", "yes": `"yes"`, "1.5": `"1.5"`, "a: b": `"a: b"`, "": `""`} {
		if got := yamlString(in); got != want {
			t.Errorf("yamlString(%q) = %s, want %s", in, got, want)
		}
	}
}
