package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// assertNothingLeft checks that a failed Publish left neither the output
// folder nor a temporary folder beside it.
func assertNothingLeft(t *testing.T, out string) {
	t.Helper()
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s exists after a failed publish", out)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	for _, e := range entries {
		if strings.Contains(e.Name(), "publish-tmp") {
			t.Errorf("temporary folder %s left behind", e.Name())
		}
	}
}

func TestPublishErrors(t *testing.T) {
	model := fixtures + "/quant/presets-Q4_K_M.gguf"
	garbage := filepath.Join(t.TempDir(), "garbage.gguf")
	os.WriteFile(garbage, []byte("GGUF but not really"), 0o644)
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"missing input", Options{Models: []string{"no/such/model.gguf"}}, "no/such/model.gguf"},
		{"not a gguf", Options{Models: []string{garbage}}, "garbage.gguf"},
		{"split smaller than a tensor", Options{Models: []string{model}, SplitMaxSize: 200_000}, "does not fit in a split of 200000 bytes"},
		{"duplicate names", Options{Models: []string{model, model}}, "would both be published as presets-Q4_K_M"},
		{"bad base model", Options{Models: []string{model}, BaseModel: "not a repo"}, "ORG/NAME"},
		{"missing source", Options{Models: []string{model}, Source: "no/such/checkpoint"}, "no/such/checkpoint"},
		{"source of another architecture", Options{Models: []string{model}, Source: fixtures + "/gpt-oss"}, "is a deepseek model, but the source checkpoint gpt-oss is GptOssForCausalLM"},
		{"source without config", Options{Models: []string{model}, Source: t.TempDir()}, "config.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.OutDir = filepath.Join(t.TempDir(), "release")
			_, err := Publish(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			assertNothingLeft(t, tc.opts.OutDir)
		})
	}
}

// TestPublishMissingParent: like every other command's output, the release
// folder is created only in an existing folder; a missing parent is
// refused, not created.
func TestPublishMissingParent(t *testing.T) {
	model := fixtures + "/quant/presets-Q4_K_M.gguf"
	base := t.TempDir()
	out := filepath.Join(base, "a", "b", "release")
	_, err := Publish(context.Background(), Options{Models: []string{model}, OutDir: out})
	if err == nil || !strings.Contains(err.Error(), out+": directory "+filepath.Join(base, "a", "b")+" does not exist") {
		t.Fatalf("got %v, want a missing-directory error naming the folder and its parent", err)
	}
	if _, err := os.Stat(filepath.Join(base, "a")); err == nil {
		t.Errorf("publish created %s", filepath.Join(base, "a"))
	}
	file := filepath.Join(base, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	_, err = Publish(context.Background(), Options{Models: []string{model}, OutDir: filepath.Join(file, "release")})
	if err == nil || !strings.Contains(err.Error(), file+" is not a directory") {
		t.Fatalf("parent is a file: got %v", err)
	}
}

func TestPublishNonEmptyDir(t *testing.T) {
	model := fixtures + "/quant/presets-Q4_K_M.gguf"
	out := filepath.Join(t.TempDir(), "release")
	os.Mkdir(out, 0o755)
	os.WriteFile(filepath.Join(out, "old.txt"), []byte("keep me"), 0o644)
	// A previous release (the only kind of folder --force replaces).
	os.WriteFile(filepath.Join(out, "manifest.json"), []byte(`{"schema": "`+ManifestSchema+`"}`), 0o644)
	_, err := Publish(context.Background(), Options{Models: []string{model}, OutDir: out})
	if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("non-empty folder: got %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "old.txt")); string(b) != "keep me" {
		t.Fatal("refused publish touched the folder")
	}
	// A failure under --force must leave the old folder as it was.
	if _, err := Publish(context.Background(), Options{Models: []string{model}, OutDir: out, Force: true, SplitMaxSize: 1000}); err == nil {
		t.Fatal("tiny split accepted")
	}
	if b, _ := os.ReadFile(filepath.Join(out, "old.txt")); string(b) != "keep me" {
		t.Fatal("failed --force publish touched the folder")
	}
	if _, err := Publish(context.Background(), Options{Models: []string{model}, OutDir: out, Force: true, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "old.txt")); err == nil {
		t.Error("--force kept the old folder's files")
	}
	if r := mustVerify(t, out); !r.OK() {
		t.Error(r.Problems)
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("left beside the release: %v", entries)
	}
	// An input inside the folder --force would replace.
	inner := filepath.Join(out, "presets-Q4_K_M.gguf")
	_, err = Publish(context.Background(), Options{Models: []string{inner}, OutDir: out, Force: true})
	if err == nil || !strings.Contains(err.Error(), "inside the output folder") {
		t.Fatalf("input inside the output: got %v", err)
	}
	if r := mustVerify(t, out); !r.OK() {
		t.Error(r.Problems)
	}
	// An existing empty folder is fine without --force.
	empty := filepath.Join(t.TempDir(), "empty")
	os.Mkdir(empty, 0o755)
	if _, err := Publish(context.Background(), Options{Models: []string{model}, OutDir: empty}); err != nil {
		t.Fatal(err)
	}
}

// TestPublishCancelled: a cancelled run (Ctrl-C) stops and removes its
// temporary folder.
func TestPublishCancelled(t *testing.T) {
	out := filepath.Join(t.TempDir(), "release")
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := Publish(ctx, Options{Models: quantFixtures, OutDir: out, SplitMaxSize: 1_200_000,
		Progress: func(int64) {
			if n++; n == 3 {
				cancel()
			}
		}})
	if err != context.Canceled {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	assertNothingLeft(t, out)
}
