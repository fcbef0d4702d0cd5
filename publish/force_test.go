package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestForceReplacesOnlyAReleaseFolder: --force used to replace any
// non-empty folder, so `publish m.gguf -o ~/models --force` deleted
// everything in it. It now replaces only a folder holding a previous
// release (manifest.json of this schema) and leaves any other untouched.
func TestForceReplacesOnlyAReleaseFolder(t *testing.T) {
	model := fixtures + "/quant/presets-Q4_K_M.gguf"
	dir := filepath.Join(t.TempDir(), "models")
	os.MkdirAll(filepath.Join(dir, "photos"), 0o755)
	os.WriteFile(filepath.Join(dir, "photos", "a.jpg"), []byte("precious"), 0o644)
	_, err := Publish(context.Background(), Options{Models: []string{model}, OutDir: dir, Force: true, Version: "test"})
	if err == nil || !strings.Contains(err.Error(), "not a gguftool release") {
		t.Fatalf("--force on a folder that is no release: got %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "photos", "a.jpg")); string(b) != "precious" {
		t.Fatal("--force deleted a folder that was not a release")
	}
	// A previous release is replaced.
	rel := filepath.Join(t.TempDir(), "release")
	if _, err := Publish(context.Background(), Options{Models: []string{model}, OutDir: rel, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(context.Background(), Options{Models: []string{model}, OutDir: rel, Force: true, Version: "test2"}); err != nil {
		t.Fatalf("--force over a previous release: %v", err)
	}
}
