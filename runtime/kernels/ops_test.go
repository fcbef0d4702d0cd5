package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestYarnInvFreqRealModels checks YaRN against the transformers values of
// the real models listed in architectures.md §1.3 and §4.2.
func TestYarnInvFreqRealModels(t *testing.T) {
	gptoss := YarnInvFreq(YarnParams{Base: 150000, Dim: 64, Factor: 32, OrigCtx: 4096, BetaFast: 32, BetaSlow: 1, Truncate: false})
	wantG := []float64{1.0, 0.6890443, 0.4747821, 0.3271459, 0.225418, 0.155323, 0.1070244, 0.07374457, 0.05081327,
		0.0317057, 0.019335, 0.01159205, 0.006794959, 0.003860359, 0.002093792, 0.001052602, 0.0004564839,
		0.0001293187, 3.830881e-05, 2.639647e-05}
	for i, w := range wantG {
		if math.Abs(float64(gptoss[i])-w) > 2e-6*w+1e-12 {
			t.Errorf("gpt-oss inv_freq[%d] = %v, want %v", i, gptoss[i], w)
		}
	}
	ds := YarnInvFreq(YarnParams{Base: 10000, Dim: 64, Factor: 40, OrigCtx: 4096, BetaFast: 32, BetaSlow: 1, Truncate: true})
	wantD := []float64{1.0, 0.7498942, 0.5623413, 0.4216965, 0.3162278, 0.2371374, 0.1778279, 0.1333521, 0.1,
		0.07498942, 0.05623413, 0.03900693, 0.02687936, 0.01837815, 0.01244796, 0.008334509, 0.0055,
		0.003561997, 0.002249365, 0.001370514, 0.0007905694, 0.0004149904, 0.0001778279, 3.333804e-05}
	for i, w := range wantD {
		if math.Abs(float64(ds[i])-w) > 2e-6*w {
			t.Errorf("deepseek2 inv_freq[%d] = %v, want %v", i, ds[i], w)
		}
	}
	if got := ds[31]; math.Abs(float64(got)-3.333804e-06) > 1e-11 {
		t.Errorf("deepseek2 inv_freq[31] = %v, want 3.333804e-06", got)
	}
	if m := YarnMscale(32, 1); math.Abs(m-1.3465735902799727) > 1e-12 {
		t.Errorf("gpt-oss mscale %v", m)
	}
	if m := YarnMscale(40, 0.707); math.Abs(m*m/math.Sqrt(192)-0.11472139) > 1e-7 {
		t.Errorf("deepseek2 kq scale %v", m*m/math.Sqrt(192))
	}
}

// TestRopeStyles checks that NEOX on a vector equals NORM on the vector with
// its halves interleaved (the converter's Q/K permutation for DeepSeek v1).
func TestRopeStyles(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const d = 64
	x := randFloats(r, 2*d, 1)
	inter := make([]float32, 2*d)
	for h := 0; h < 2; h++ {
		for i := 0; i < d/2; i++ {
			inter[h*d+2*i] = x[h*d+i]
			inter[h*d+2*i+1] = x[h*d+i+d/2]
		}
	}
	f := RopeInvFreq(10000, d)
	neox := Rope{Style: RopeNeox, InvFreq: f, Scale: 1.25}
	nrm := Rope{Style: RopeNorm, InvFreq: f, Scale: 1.25}
	neox.Apply(x, 2, d, 17)
	nrm.Apply(inter, 2, d, 17)
	for h := 0; h < 2; h++ {
		for i := 0; i < d/2; i++ {
			if x[h*d+i] != inter[h*d+2*i] || x[h*d+i+d/2] != inter[h*d+2*i+1] {
				t.Fatalf("head %d pair %d differs", h, i)
			}
		}
	}
	// Position 0 only scales.
	y := []float32{1, 2, 3, 4}
	r0 := Rope{Style: RopeNeox, InvFreq: RopeInvFreq(10000, 4), Scale: 2}
	r0.Apply(y, 1, 4, 0)
	if y[0] != 2 || y[3] != 8 {
		t.Errorf("rope at position 0: %v", y)
	}
}

func TestNorms(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	x := randFloats(r, 300, 3)
	w := randFloats(r, 300, 1)
	b := randFloats(r, 300, 1)
	y := make([]float32, 300)
	RMSNorm(y, x, w, 1e-5)
	var ss, sum float64
	for _, v := range x {
		ss += float64(v) * float64(v)
		sum += float64(v)
	}
	for i := range x {
		want := float64(x[i]) / math.Sqrt(ss/300+1e-5) * float64(w[i])
		if math.Abs(float64(y[i])-want) > 1e-5 {
			t.Fatalf("rmsnorm %d: %v want %v", i, y[i], want)
		}
	}
	LayerNorm(y, x, w, b, 1e-5)
	mean := sum / 300
	var v float64
	for _, xv := range x {
		v += (float64(xv) - mean) * (float64(xv) - mean)
	}
	for i := range x {
		want := (float64(x[i])-mean)/math.Sqrt(v/300+1e-5)*float64(w[i]) + float64(b[i])
		if math.Abs(float64(y[i])-want) > 1e-5 {
			t.Fatalf("layernorm %d: %v want %v", i, y[i], want)
		}
	}
}

// naiveAttention is the float64 definition of architectures.md §0.4.
func naiveAttention(a *Attention, q []float32, n, pos0 int) []float64 {
	out := make([]float64, n*a.NHead*a.HeadDimV)
	for t := 0; t < n; t++ {
		pos := pos0 + t
		for h := 0; h < a.NHead; h++ {
			g := h / (a.NHead / a.NHeadKV)
			var s []float64
			var js []int
			for j := 0; j <= pos; j++ {
				if a.Window > 0 && pos-j >= a.Window {
					continue
				}
				var dot float64
				for i := 0; i < a.HeadDimK; i++ {
					dot += float64(q[t*a.NHead*a.HeadDimK+h*a.HeadDimK+i]) * float64(a.K[j*a.KStride+g*a.HeadDimK+i])
				}
				s = append(s, dot*float64(a.Scale))
				js = append(js, j)
			}
			m := math.Inf(-1)
			for _, v := range s {
				m = math.Max(m, v)
			}
			if a.Sinks != nil {
				m = math.Max(m, float64(a.Sinks[h]))
			}
			var z float64
			for _, v := range s {
				z += math.Exp(v - m)
			}
			if a.Sinks != nil {
				z += math.Exp(float64(a.Sinks[h]) - m)
			}
			for k, j := range js {
				p := math.Exp(s[k]-m) / z
				for i := 0; i < a.HeadDimV; i++ {
					out[t*a.NHead*a.HeadDimV+h*a.HeadDimV+i] += p * float64(a.V[j*a.VStride+g*a.HeadDimV+i])
				}
			}
		}
	}
	return out
}

func TestAttentionAgainstFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const nh, nkv, dk, dv, pos0, n = 4, 2, 32, 24, 5, 7
	for _, tc := range []struct {
		name   string
		sinks  bool
		window int
	}{{"causal", false, 0}, {"sinks+window", true, 4}, {"window1", false, 1}} {
		a := &Attention{NHead: nh, NHeadKV: nkv, HeadDimK: dk, HeadDimV: dv, Scale: 0.2, Window: tc.window,
			K: randFloats(r, (pos0+n)*nkv*dk, 1), V: randFloats(r, (pos0+n)*nkv*dv, 1), KStride: nkv * dk, VStride: nkv * dv}
		if tc.sinks {
			a.Sinks = randFloats(r, nh, 1)
		}
		q := randFloats(r, n*nh*dk, 1)
		got := make([]float32, n*nh*dv)
		a.Run(got, q, n, pos0)
		checkClose(t, tc.name, got, naiveAttention(a, q, n, pos0), 1e-5)
	}
}

func TestTopKAndSoftmax(t *testing.T) {
	x := []float32{0.1, 3, -1, 3, 2.5, 7}
	idx := TopK(x, 3, nil)
	if len(idx) != 3 || idx[0] != 5 || idx[1] != 1 || idx[2] != 3 {
		t.Errorf("TopK = %v", idx)
	}
	if Argmax(x) != 5 {
		t.Error("Argmax")
	}
	p := []float32{1, 2, 3}
	Softmax(p)
	if math.Abs(float64(p[0]+p[1]+p[2])-1) > 1e-6 || math.Abs(float64(p[2])-0.66524096) > 1e-6 {
		t.Errorf("Softmax = %v", p)
	}
}

func TestSwiGLUOAI(t *testing.T) {
	out := make([]float32, 3)
	SwiGLUOAI(out, []float32{10, -1, 0.5}, []float32{-10, 8, 0}, 1.702, 7)
	want := []float64{7 / (1 + math.Exp(-1.702*7)) * (-7 + 1), -1 / (1 + math.Exp(1.702)) * 8, 0.5 / (1 + math.Exp(-0.851)) * 1}
	for i := range want {
		if math.Abs(float64(out[i])-want[i]) > 1e-5 {
			t.Errorf("SwiGLUOAI[%d] = %v, want %v", i, out[i], want[i])
		}
	}
}
