package kernels

import "math"

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// SiLU returns x·σ(x).
func SiLU(x float32) float32 { return x * sigmoid(x) }

// SwiGLU writes out_i = silu(gate_i)·up_i (Llama/Mixtral/DeepSeek experts).
func SwiGLU(out, gate, up []float32) {
	for i, g := range gate {
		out[i] = SiLU(g) * up[i]
	}
}

// SwiGLUOAI is gpt-oss's clamped gate: g = min(g, limit), u = clamp(u, −limit,
// limit), out = g·σ(alpha·g)·(u + 1).
func SwiGLUOAI(out, gate, up []float32, alpha, limit float32) {
	for i, g := range gate {
		g = min(g, limit)
		u := min(max(up[i], -limit), limit)
		out[i] = g * sigmoid(alpha*g) * (u + 1)
	}
}

// Add does dst += src.
func Add(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

// AddScaled does dst += a·src.
func AddScaled(dst, src []float32, a float32) {
	for i, v := range src {
		dst[i] += a * v
	}
}
