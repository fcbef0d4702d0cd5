package kernels

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPTXMatchesSources fails when a .cu (or common.cuh) changed without
// `make ptx`, or a .cu has no PTX: the binary would run stale kernels.
func TestPTXMatchesSources(t *testing.T) {
	common, err := os.ReadFile("common.cuh")
	if err != nil {
		t.Fatal(err)
	}
	srcs, _ := filepath.Glob("*.cu")
	if len(srcs) == 0 {
		t.Fatal("no .cu sources")
	}
	for _, src := range srcs {
		cu, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(append(append([]byte{}, common...), cu...))
		want := hex.EncodeToString(sum[:])
		name := strings.TrimSuffix(src, ".cu")
		ptx, err := PTX(name)
		if err != nil {
			t.Errorf("%s: %v (run `make ptx` on a machine with nvcc)", src, err)
			continue
		}
		got, ok := SourceHash(ptx)
		if !ok {
			t.Errorf("%s.ptx: no %q header line", name, HeaderPrefix)
		} else if got != want {
			t.Errorf("%s.ptx is stale: made from sources with sha256 %s, sources now %s (run `make ptx`)", name, got, want)
		}
		if !strings.Contains(string(ptx), ".entry") {
			t.Errorf("%s.ptx has no kernel entry", name)
		}
	}
	if got, want := len(Modules()), len(srcs); got != want {
		t.Errorf("%d embedded PTX modules for %d sources: %v", got, want, Modules())
	}
}
