package synth

import (
	"math"
	"strings"
)

// valueSpec is the distribution a tensor's values are drawn from: mean and
// standard deviation of the dequantized values.
type valueSpec struct {
	mean, sigma float64
}

// specFor chooses the values of one tensor the way a freshly initialized
// network has them (Xavier/GPT-2 style), so that the model is
// well-conditioned: every matrix keeps the scale of its input (σ =
// 1/√fan-in, fan-in being ggml's first dimension), the matrices that write
// into the residual stream are scaled by a further 1/√(2·layers) so the
// stream stays O(1) over depth, norm weights are near 1, biases and
// attention sinks are small, and routers have logits of standard
// deviation 3, so the top-k experts win by clear margins.
//
// Why it matters: with the earlier "random codes at a sane block scale"
// (|w| ≈ 0.06 whatever the width) every 2880-wide product multiplied its
// input by ~3, attention scores had a standard deviation near 9 and the
// residual stream grew layer after layer; the 24-layer gpt-oss-20b was
// then chaotic: rounding the CPU runtime's KV cache to binary16 (a 2⁻¹²
// relative change) moved its logits by up to 14 (of 15) and changed 9 of 16
// prompt tokens' top-1, so `run --validate` could not tell a bug from noise.
func specFor(name string, dims []uint64, layers int) valueSpec {
	fanIn := 1.0
	if len(dims) > 0 && dims[0] > 0 {
		fanIn = float64(dims[0])
	}
	switch {
	case strings.HasPrefix(name, "rope_factors"):
		return valueSpec{mean: 1}
	case strings.Contains(name, "_norm.weight"):
		return valueSpec{mean: 1, sigma: 0.02}
	case strings.HasSuffix(name, ".bias") || strings.Contains(name, "attn_sinks"):
		return valueSpec{sigma: 0.02}
	case name == "token_embd.weight":
		// Rows of unit scale, like the layers' contributions below.
		return valueSpec{sigma: 1}
	case strings.Contains(name, "ffn_gate_inp.weight"):
		return valueSpec{sigma: 3 / math.Sqrt(fanIn)}
	case residualWriter(name):
		return valueSpec{sigma: 1 / math.Sqrt(fanIn*2*float64(max(layers, 1)))}
	}
	return valueSpec{sigma: 1 / math.Sqrt(fanIn)}
}

// residualWriter reports whether a matrix's output is added to the
// residual stream: attention outputs and the FFNs' down projections.
func residualWriter(name string) bool {
	return strings.HasSuffix(name, ".attn_output.weight") || strings.Contains(name, ".ffn_down")
}
