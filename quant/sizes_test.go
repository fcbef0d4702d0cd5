package quant_test

import (
	"math"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/quant"
	"github.com/gguftool/gguftool/synth"
)

// llamaQuantizeSizes are the tensor byte totals measured with
// llama-quantize on real-shape GGUFs (../shared/reference/performance.md
// §2.1, GB = 1e9): the expert weights, and everything else except the
// token embeddings and the *_exps tensors (the GPU-resident part).
var llamaQuantizeSizes = []struct {
	model, preset    string
	experts, nonExps float64
}{
	{"gpt-oss-20b", "MXFP4_MOE", 10.15, 1.30},
	{"gpt-oss-20b", "Q4_K_M", 14.33, 1.03},
	{"gpt-oss-20b", "Q8_0", 20.30, 1.30},
	{"gpt-oss-120b", "MXFP4_MOE", 60.91, 1.69},
	{"gpt-oss-120b", "Q4_K_M", 86.00, 1.28},
	{"gpt-oss-120b", "Q8_0", 121.83, 1.69},
	{"phi-3.5-moe", "MXFP4_MOE", 21.39, 1.58},
	{"phi-3.5-moe", "Q4_K_M", 24.38, 0.89},
	{"phi-3.5-moe", "Q5_K_M", 28.57, 1.05},
	{"phi-3.5-moe", "Q6_K", 33.03, 1.22},
	{"phi-3.5-moe", "Q8_0", 42.78, 1.58},
	{"deepseek-moe-16b", "MXFP4_MOE", 7.94, 1.30},
	{"deepseek-moe-16b", "Q4_K_M", 9.93, 0.80},
	{"deepseek-moe-16b", "Q5_K_M", 11.34, 0.90},
	{"deepseek-moe-16b", "Q6_K", 13.47, 1.02},
	{"deepseek-moe-16b", "Q8_0", 15.88, 1.30},
	{"deepseek-v2-lite", "MXFP4_MOE", 7.65, 1.15},
	{"deepseek-v2-lite", "Q4_K_M", 9.53, 0.72},
	{"deepseek-v2-lite", "Q5_K_M", 10.89, 0.82},
	{"deepseek-v2-lite", "Q6_K", 12.97, 0.93},
	{"deepseek-v2-lite", "Q8_0", 15.29, 1.18},
}

// TestPresetSizesOnRealModels plans every preset on the real models'
// geometry (synth, converter layout, BF16) and compares the resulting
// byte totals with llama-quantize's, to the table's two decimals: this
// checks the per-tensor type choices, fallbacks included, on the models
// gguftool targets.
func TestPresetSizesOnRealModels(t *testing.T) {
	for _, c := range llamaQuantizeSizes {
		m, err := synth.Build(synth.Options{Preset: c.model, Type: "bf16"})
		if err != nil {
			t.Fatalf("%s: %v", c.model, err)
		}
		ft, err := quant.ParseFtype(c.preset)
		if err != nil {
			t.Fatal(err)
		}
		r := quant.NewRecipe(ft)
		r.AllowRequantize = true // gpt-oss's experts are MXFP4 in the source
		p, err := r.Plan(m.Metadata, m.Tensors)
		if err != nil {
			t.Fatalf("%s %s: %v", c.model, c.preset, err)
		}
		var experts, nonExps uint64
		for _, tp := range p.Tensors {
			o := tp.Out
			switch {
			case o.IsExperts() && strings.HasSuffix(o.Name, ".weight"):
				experts += o.Size()
			case o.IsExperts() || o.Name == "token_embd.weight":
			default:
				nonExps += o.Size()
			}
		}
		gotE, gotN := float64(experts)/1e9, float64(nonExps)/1e9
		if math.Abs(gotE-c.experts) > 0.0051 || math.Abs(gotN-c.nonExps) > 0.0051 {
			t.Errorf("%s %s: experts %.4f GB, rest %.4f GB; llama-quantize %.2f, %.2f",
				c.model, c.preset, gotE, gotN, c.experts, c.nonExps)
		}
	}
}
