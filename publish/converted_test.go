package publish

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/convert"
	"github.com/gguftool/gguftool/gguf"
)

// TestPublishConvertedFixtures converts each fixture checkpoint to q8_0,
// publishes it in several shards with the checkpoint as --source and the
// planner's figures, verifies the folder, and reads every tensor back.
func TestPublishConvertedFixtures(t *testing.T) {
	for _, fam := range []string{"gpt-oss", "phimoe", "deepseek-moe", "deepseek-v2-lite"} {
		t.Run(fam, func(t *testing.T) {
			src := filepath.Join(fixtures, fam)
			model := filepath.Join(t.TempDir(), fam+"-q8_0.gguf")
			p, err := convert.NewPlan(src, convert.Options{OutType: "q8_0"})
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Create(model)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Write(context.Background(), f, 1, nil)
			p.Close()
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}

			dir, res := publishTo(t, Options{Models: []string{model}, Source: src, SplitMaxSize: 1_500_000, Planner: ProjectPlanner{}})
			mod := res.Manifest.Models[0]
			if len(mod.Files) < 3 {
				t.Errorf("%d shards", len(mod.Files))
			}
			if r := mustVerify(t, dir); !r.OK() {
				t.Fatal(r.Problems)
			}
			if len(mod.Memory) != 2 || mod.Memory[0].VRAMExpertsOnCPU <= 0 || mod.Memory[0].VRAMAllOnGPU <= mod.Memory[0].VRAMExpertsOnCPU ||
				mod.Memory[1].VRAMExpertsOnCPU < mod.Memory[0].VRAMExpertsOnCPU || mod.Run == nil {
				t.Errorf("planner figures %+v run %+v", mod.Memory, mod.Run)
			}
			if mod.Run != nil && !strings.Contains(strings.Join(mod.Run.LlamaCppArgs, " "), "--n-cpu-moe") && !strings.Contains(strings.Join(mod.Run.LlamaCppArgs, " "), "-ot") {
				t.Errorf("experts-in-CPU placement without --n-cpu-moe/-ot: %v", mod.Run.LlamaCppArgs)
			}
			in, err := gguf.Open(model)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			out, err := gguf.Open(filepath.Join(dir, mod.Files[0].Name))
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			if len(out.Tensors) != len(in.Tensors) || out.Metadata.Len() != in.Metadata.Len()+3 {
				t.Fatalf("%d tensors, %d keys; want %d, %d+3", len(out.Tensors), out.Metadata.Len(), len(in.Tensors), in.Metadata.Len())
			}
			for i := range in.Tensors {
				a, b := &in.Tensors[i], &out.Tensors[i]
				if a.Name != b.Name || a.Type != b.Type || !equalDims(a.Dims, b.Dims) || !bytes.Equal(in.Data(a), out.Data(b)) {
					t.Errorf("tensor %s differs after publishing", a.Name)
				}
			}
		})
	}
}
