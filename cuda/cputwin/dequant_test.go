package cputwin

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// TestDequantLlamaQuantizeOutputs decodes every tensor that llama-quantize
// wrote in a supported type (the Q4_K_M and MXFP4_MOE fixtures: Q4_K, Q5_K,
// Q6_K, Q8_0, MXFP4, F16/F32) and compares it with the f32 original. A
// wrong block layout gives errors near 100%; a right one stays within the
// type's quantization noise.
func TestDequantLlamaQuantizeOutputs(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "fixtures", "quant")
	ref, err := gguf.Open(filepath.Join(dir, "model-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	// Relative RMS error bounds per type for these random-ish weights.
	bound := map[WeightType]float64{F32: 0, F16: 1e-3, BF16: 8e-3, Q8_0: 0.01, Q6_K: 0.03, Q5_K: 0.06, Q4_K: 0.12, MXFP4: 0.2}
	seen := map[WeightType]int{}
	for _, name := range []string{"presets-Q4_K_M.gguf", "presets-MXFP4_MOE.gguf"} {
		f, err := gguf.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for i := range f.Tensors {
			ti := &f.Tensors[i]
			wt := WeightType(ti.Type)
			if !wt.Supported() {
				continue
			}
			rt, ok := ref.Tensor(ti.Name)
			if !ok || rt.Type != gguf.TypeF32 {
				continue
			}
			n := int(ti.NumElements())
			got := make([]float32, n)
			if err := Dequant(wt, f.Data(ti), got); err != nil {
				t.Fatalf("%s %s: %v", name, ti.Name, err)
			}
			want := make([]float32, n)
			if err := Dequant(F32, ref.Data(rt), want); err != nil {
				t.Fatal(err)
			}
			var num, den float64
			for j := range got {
				d := float64(got[j]) - float64(want[j])
				num += d * d
				den += float64(want[j]) * float64(want[j])
			}
			rel := math.Sqrt(num / den)
			if rel > bound[wt] || math.IsNaN(rel) {
				t.Errorf("%s %s (%v): relative RMS error %.4f > %.4f", name, ti.Name, wt, rel, bound[wt])
			}
			seen[wt]++
		}
		f.Close()
	}
	for _, wt := range []WeightType{Q4_K, Q6_K, Q8_0, MXFP4} {
		if seen[wt] == 0 {
			t.Errorf("no %v tensor in the fixtures: the check did not run for it", wt)
		}
	}
	t.Logf("tensors checked per type: %v", seen)
}

func TestHalfToFloat32(t *testing.T) {
	for _, c := range []struct {
		h uint16
		f float32
	}{{0x3c00, 1}, {0xc000, -2}, {0x0001, 5.960464477539063e-08}, {0x7bff, 65504}, {0x3555, 0.33325195}} {
		if got := HalfToFloat32(c.h); got != c.f {
			t.Errorf("HalfToFloat32(%#x) = %v, want %v", c.h, got, c.f)
		}
	}
	if !math.IsInf(float64(HalfToFloat32(0x7c00)), 1) || !math.IsNaN(float64(HalfToFloat32(0x7e00))) {
		t.Error("inf/nan")
	}
}

func TestYaRNFreqsGptOss(t *testing.T) {
	// architectures.md §1.3: transformers inv_freq without floor/ceil.
	f := YaRNFreqs(64, 150000, 32, 4096, 32, 1, false)
	want := []float32{1.0, 0.6890443, 0.4747821, 0.3271459, 0.225418, 0.155323, 0.1070244, 0.07374457,
		0.05081327, 0.0317057, 0.019335, 0.01159205, 0.006794959, 0.003860359, 0.002093792, 0.001052602,
		0.0004564839, 0.0001293187, 3.830881e-05, 2.639647e-05}
	for i, w := range want {
		if math.Abs(float64(f[i]-w)) > 2e-6*math.Abs(float64(w))+1e-9 {
			t.Errorf("inv_freq[%d] = %v, want %v", i, f[i], w)
		}
	}
	g := YaRNFreqs(64, 150000, 32, 4096, 32, 1, true) // ggml: i = 9 → 0.03162075, i = 17 → 0.0002279478
	if math.Abs(float64(g[9]-0.03162075)) > 1e-7 || math.Abs(float64(g[17]-0.0002279478)) > 1e-9 {
		t.Errorf("truncated: [9] = %v, [17] = %v", g[9], g[17])
	}
}

func TestYaRNFreqsDeepseek2(t *testing.T) {
	// architectures.md §4.2: V2-Lite, d = 64, base 10000, factor 40, truncated.
	f := YaRNFreqs(64, 10000, 40, 4096, 32, 1, true)
	want := map[int]float32{0: 1, 11: 0.03900693, 16: 0.0055, 23: 3.333804e-05, 31: 3.333804e-06}
	for i, w := range want {
		if math.Abs(float64(f[i]-w)) > 2e-6*float64(w) {
			t.Errorf("inv_freq[%d] = %v, want %v", i, f[i], w)
		}
	}
}

func TestRouterSparseMixer(t *testing.T) {
	// e1 = 2 (3.0); expert 0 (2.98) lies within 2% of it, so w1 ≈ 1/(1+e^-0.02);
	// e2 = 0, and nothing else is within 2% of 2.98 (expert 2 is masked).
	ids, w := Router([]float32{2.98, -1, 3.0, 0.5}, RouterParams{NExp: 4, K: 2, Mode: SparseMixer, Scale: 1, Eps: 0.01})
	if ids[0] != 2 || ids[1] != 0 {
		t.Fatalf("ids %v", ids)
	}
	if want := 1 / (1 + math.Exp(-0.02)); math.Abs(float64(w[0])-want) > 1e-6 || math.Abs(float64(w[1])-1) > 1e-6 {
		t.Errorf("weights %v, want [%v 1]", w, want)
	}
}

func TestRouterGptOss(t *testing.T) {
	ids, w := Router([]float32{0, 3, 1, 2}, RouterParams{NExp: 4, K: 2, Mode: TopKSoftmax, Scale: 1})
	if ids[0] != 1 || ids[1] != 3 {
		t.Fatalf("ids %v", ids)
	}
	if want := 1 / (1 + math.Exp(-1)); math.Abs(float64(w[0])-want) > 1e-6 {
		t.Errorf("w %v", w)
	}
}
