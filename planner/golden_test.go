package planner

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden summaries in testdata/planner")

// TestGoldenSummaries pins the readable summary (or the infeasibility
// message) for three real geometries at 2–80 GiB, context 4096. The
// numbers in them are checked against llama.cpp by the memory tests; the
// goldens catch unintended changes of placement or wording. Regenerate
// with go test ./planner -run Golden -update.
func TestGoldenSummaries(t *testing.T) {
	for _, preset := range []string{"gpt-oss-20b", "phi-3.5-moe", "deepseek-moe-16b"} {
		m := synthModel(t, preset, "", 0)
		for _, gib := range []int64{2, 4, 8, 16, 24, 80} {
			name := fmt.Sprintf("%s-%dGiB.txt", preset, gib)
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				man, err := Plan(m, Options{VRAM: gib << 30, Context: 4096, FlashAttn: true, Reserve: -1})
				var inf *InfeasibleError
				switch {
				case errors.As(err, &inf):
					fmt.Fprintf(&buf, "infeasible (exit 3): %v\n", err)
				case err != nil:
					t.Fatal(err)
				default:
					checkPlan(t, m, man, gib<<30)
					man.Summary(&buf)
				}
				path := filepath.Join("..", "testdata", "planner", name)
				if *update {
					os.MkdirAll(filepath.Dir(path), 0o755)
					if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(buf.Bytes(), want) {
					t.Errorf("summary changed:\n--- got\n%s--- want\n%s", buf.String(), want)
				}
			})
		}
	}
}
