package tokenizer

import (
	"path/filepath"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// fixtureMetadata returns the tokenizer.* keys for a fixture.
func fixtureMetadata(t testing.TB, name string) *gguf.Metadata {
	if t == nil {
		t = &testing.T{}
	}
	return hfMetadata(t, filepath.Join(fixtureDir, name), fixtureOpts[name])
}
