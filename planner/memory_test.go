package planner

import (
	"errors"
	"math"
	"testing"

	"github.com/gguftool/gguftool/synth"
)

// synthModel builds the header of a preset (no data) and describes it.
func synthModel(t testing.TB, preset, typ string, layers int) *Model {
	t.Helper()
	sm, err := synth.Build(synth.Options{Preset: preset, Type: typ, Layers: layers})
	if err != nil {
		t.Fatal(err)
	}
	return FromHeader(preset+".gguf", sm.Size, sm.Header())
}

func hparams(t testing.TB, m *Model) *HParams {
	t.Helper()
	hp, err := m.ReadHParams()
	if err != nil {
		t.Fatal(err)
	}
	return hp
}

func kvTotal(t testing.TB, hp *HParams, ctx int, ct CacheType) (full, swa int64) {
	t.Helper()
	kv, err := hp.KVCache(ctx, DefaultUBatch, ct)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range kv {
		if l.Sliding {
			swa += l.Bytes()
		} else {
			full += l.Bytes()
		}
	}
	return
}

// TestKVCacheMatchesLlamaCpp compares the KV model with the cache sizes
// llama.cpp allocated for the real geometries (offload.md §6.2 "measured",
// and §7: llama-bench -p 4096 -n 16 runs at n_ctx 4112). Exact: the cache
// is a product of integers.
func TestKVCacheMatchesLlamaCpp(t *testing.T) {
	cases := []struct {
		preset    string
		ctx       int
		full, swa float64 // MiB
	}{
		{"gpt-oss-20b", 4096, 96, 18},
		{"gpt-oss-20b", 4112, 102, 18}, // offload.md §7: "three caches: 18 + 6 + 96" = 120 MiB
		{"gpt-oss-120b", 4096, 144, 27},
		{"gpt-oss-120b", 131072, 4608, 27},
		{"phi-3.5-moe", 4096, 512, 0},
		{"deepseek-moe-16b", 4096, 896, 0},
		{"deepseek-v2-lite", 4096, 121.5, 0},
	}
	for _, c := range cases {
		hp := hparams(t, synthModel(t, c.preset, "", 0))
		full, swa := kvTotal(t, hp, c.ctx, CacheF16)
		if float64(full)/mib != c.full || float64(swa)/mib != c.swa {
			t.Errorf("%s ctx %d: KV %.2f + %.2f MiB SWA, llama.cpp %.2f + %.2f", c.preset, c.ctx,
				float64(full)/mib, float64(swa)/mib, c.full, c.swa)
		}
		// Per extra 1k tokens (offload.md §6.2, last column): SWA layers do not grow.
		f2, s2 := kvTotal(t, hp, c.ctx+1024, CacheF16)
		perK := float64(f2+s2-full-swa) / mib
		want := map[string]float64{"gpt-oss-20b": 24, "gpt-oss-120b": 36, "phi-3.5-moe": 128,
			"deepseek-moe-16b": 224, "deepseek-v2-lite": 27 * 1152 * 1024.0 / mib}[c.preset]
		if math.Abs(perK-want) > 1e-9 {
			t.Errorf("%s: %.2f MiB per extra 1k tokens, want %.2f", c.preset, perK, want)
		}
	}
	// q8_0 cache: 34 bytes per 32 elements.
	hp := hparams(t, synthModel(t, "phi-3.5-moe", "", 0))
	full, _ := kvTotal(t, hp, 4096, CacheQ8_0)
	if want := int64(32 * 4096 * 2 * 8 * 128 / 32 * 34); full != want {
		t.Errorf("phi q8_0 KV %d, want %d", full, want)
	}
	// MLA: K-only latent of (512 + 64) elements; non-absorbed would be 8.9x more.
	hp = hparams(t, synthModel(t, "deepseek-v2-lite", "", 0))
	if !hp.MLA || hp.KVLoraRank != 512 || hp.RopeDim != 64 {
		t.Errorf("deepseek2 MLA hparams: %+v", hp)
	}
}

// TestComputeBufferAgainstLlamaCpp compares the compute model with the
// buffers llama.cpp reserved (offload.md §6.3, CPU backend; §7 CUDA0 for
// gpt-oss-20b: 404 + 12.6 MiB). The model must never be more than 2% below
// a measurement (a plan that underestimates runs out of memory) and is at
// most 15% above it with flash attention; without flash attention it is
// conservative by up to 70% at 4k context (the score-matrix term).
func TestComputeBufferAgainstLlamaCpp(t *testing.T) {
	type meas struct {
		ub, ctx int
		fa      bool
		mib     float64
	}
	cases := map[string][]meas{
		"gpt-oss-20b":      {{512, 4096, true, 414}, {2048, 4096, true, 1731}, {512, 32768, true, 410}, {512, 4096, false, 558}, {512, 32768, false, 4198}, {512, 4112, true, 404 + 12.6}},
		"gpt-oss-120b":     {{512, 4096, true, 414}, {2048, 4096, true, 1731}, {512, 32768, true, 410}, {512, 4096, false, 558}, {512, 32768, false, 4198}},
		"phi-3.5-moe":      {{512, 4096, true, 111}, {2048, 4096, true, 444}, {512, 32768, true, 139}, {512, 4096, false, 308}, {512, 32768, false, 2156}},
		"deepseek-moe-16b": {{512, 4096, true, 240}, {2048, 4096, true, 961}, {512, 32768, true, 244}, {512, 4096, false, 240}, {512, 32768, false, 1136}},
		"deepseek-v2-lite": {{512, 4096, true, 240}, {2048, 4096, true, 961}, {512, 32768, true, 240}, {512, 4096, false, 240}, {512, 32768, false, 1174}},
	}
	for preset, ms := range cases {
		hp := hparams(t, synthModel(t, preset, "", 0))
		for _, x := range ms {
			got := float64(hp.ComputeBuffer(x.ctx, x.ub, x.fa).Total()) / mib
			ratio := got / x.mib
			hi := 1.15
			if !x.fa {
				hi = 1.70
			}
			if ratio < 0.98 || ratio > hi {
				t.Errorf("%s ub %d ctx %d fa %v: model %.1f MiB, llama.cpp %.1f MiB (ratio %.3f, allowed 0.98..%.2f)",
					preset, x.ub, x.ctx, x.fa, got, x.mib, ratio, hi)
			}
		}
	}
}

// gpuWeightsAllExpertsOnCPU plans with a huge budget but no room for
// experts: the GPU weight bytes are then the non-expert tensors.
func gpuWeights(t *testing.T, m *Model, expertsOnGPU bool) int64 {
	t.Helper()
	o := Options{VRAM: 1 << 50, Context: 4096, FlashAttn: true, Reserve: -1}
	man, err := Plan(m, o)
	if err != nil {
		t.Fatal(err)
	}
	if expertsOnGPU {
		g, _ := man.GPU()
		return g.WeightsBytes
	}
	// Minimum budget = every expert on the CPU.
	var inf *InfeasibleError
	_, err = Plan(m, Options{VRAM: 0, Context: 4096, FlashAttn: true, Reserve: -1})
	if !errors.As(err, &inf) {
		t.Fatalf("budget 0 should be infeasible, got %v", err)
	}
	man, err = Plan(m, Options{VRAM: inf.Min, Context: 4096, FlashAttn: true, Reserve: -1})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := man.GPU()
	if len(man.LlamaCppArgs) < 4 || man.LlamaCppArgs[2] != "--n-cpu-moe" {
		t.Fatalf("at the minimum budget every expert should be on the CPU: %v", man.LlamaCppArgs)
	}
	return g.WeightsBytes
}

// TestGPUWeightsMatchLlamaCpp compares the predicted GPU weight bytes with
// llama.cpp's CUDA0 model buffer for the same file and flags:
//   - gpt-oss-20b as the converter writes it with --outtype f16, measured on
//     the lent H100 (offload.md §7): --n-cpu-moe 24 → 2,329.33 MiB,
//     -ngl 99 → 12,036.68 MiB;
//   - third-party b6686 logs with --cpu-moe (offload.md §6.4): Phi-3.5-MoE
//     Q4_K_M 851 MiB, DeepSeek-MoE-16B Q4_K_M 760 MiB (printed to 1 MiB);
//   - the worked example of offload.md §6.4 (GB, two decimals).
//
// llama.cpp pads each tensor in its buffer (≤ 128 B per tensor), so the
// tolerance is 0.5 MiB for the H100 measurements.
func TestGPUWeightsMatchLlamaCpp(t *testing.T) {
	m := synthModel(t, "gpt-oss-20b", "f16", 0)
	if got := float64(gpuWeights(t, m, false)) / mib; math.Abs(got-2329.33) > 0.5 {
		t.Errorf("gpt-oss-20b f16 --n-cpu-moe 24: GPU weights %.2f MiB, llama.cpp 2329.33 MiB", got)
	}
	if got := float64(gpuWeights(t, m, true)) / mib; math.Abs(got-12036.68) > 0.5 {
		t.Errorf("gpt-oss-20b f16 all on GPU: GPU weights %.2f MiB, llama.cpp 12036.68 MiB", got)
	}
	for _, c := range []struct {
		preset, typ string
		mib         float64
	}{{"phi-3.5-moe", "q4_k_m", 851}, {"deepseek-moe-16b", "q4_k_m", 760}} {
		got := float64(gpuWeights(t, synthModel(t, c.preset, c.typ, 0), false)) / mib
		if math.Abs(got-c.mib) > 1 {
			t.Errorf("%s %s --cpu-moe: GPU weights %.1f MiB, llama.cpp %v MiB", c.preset, c.typ, got, c.mib)
		}
	}
	for _, c := range []struct {
		preset, typ string
		gb          float64
	}{
		{"gpt-oss-20b", "q8_0", 1.30}, {"gpt-oss-120b", "q8_0", 1.69}, {"phi-3.5-moe", "q4_k_m", 0.89},
		{"deepseek-moe-16b", "q4_k_m", 0.80}, {"deepseek-v2-lite", "q4_k_m", 0.72},
	} {
		got := float64(gpuWeights(t, synthModel(t, c.preset, c.typ, 0), false)) / 1e9
		if math.Abs(got-c.gb) > 0.0051 {
			t.Errorf("%s %s -cmoe: GPU weights %.3f GB, offload.md §6.4 %.2f GB", c.preset, c.typ, got, c.gb)
		}
	}
}

// TestTotalVRAMMatchesNvidiaSmi compares the planned GPU total with the
// process peak nvidia-smi showed for llama.cpp on the lent H100 (offload.md
// §7; llama-bench -p 4096 -n 16 → n_ctx 4112, ub 512, FA on). The plan may
// be above the measurement (it must not run out of memory) by at most 5%,
// never below.
func TestTotalVRAMMatchesNvidiaSmi(t *testing.T) {
	m := synthModel(t, "gpt-oss-20b", "f16", 0)
	// All experts on the CPU: the infeasibility minimum is that placement.
	var inf *InfeasibleError
	if _, err := Plan(m, Options{VRAM: 1 << 30, Context: 4112, FlashAttn: true, Reserve: -1}); !errors.As(err, &inf) {
		t.Fatalf("1 GiB should be infeasible: %v", err)
	}
	check := func(what string, got int64, measured float64) {
		r := float64(got) / mib / measured
		t.Logf("%s: planned %.0f MiB, nvidia-smi %.0f MiB (ratio %.3f)", what, float64(got)/mib, measured, r)
		if r < 1 || r > 1.05 {
			t.Errorf("%s: planned %.0f MiB vs measured %.0f MiB: ratio %.3f outside 1.00..1.05", what, float64(got)/mib, measured, r)
		}
	}
	check("--n-cpu-moe 24", inf.Min, 3599)
	man, err := Plan(m, Options{VRAM: 1 << 40, Context: 4112, FlashAttn: true, Reserve: -1})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := man.GPU()
	check("-ngl 99", g.TotalBytes, 13265)
}
