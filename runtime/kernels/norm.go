package kernels

import "math"

// RMSNorm writes y_i = x_i / sqrt(mean(x²) + eps) · w_i. The sum of squares is
// accumulated in float64, as ggml's CPU op does. y may alias x.
func RMSNorm(y, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	scale := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	for i, v := range x {
		y[i] = v * scale * w[i]
	}
}

// LayerNorm writes y_i = (x_i − mean) / sqrt(var + eps) · w_i + b_i with the
// biased variance (÷n), as torch.nn.LayerNorm. b may be nil. y may alias x.
func LayerNorm(y, x, w, b []float32, eps float32) {
	n := float64(len(x))
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := sum / n
	var ss float64
	for _, v := range x {
		d := float64(v) - mean
		ss += d * d
	}
	inv := 1 / math.Sqrt(ss/n+float64(eps))
	for i, v := range x {
		o := float32((float64(v)-mean)*inv) * w[i]
		if b != nil {
			o += b[i]
		}
		y[i] = o
	}
}
