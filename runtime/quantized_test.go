package runtime

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/quant"
	"github.com/gguftool/gguftool/runtime/kernels"
)

// TestLlamaQuantizeModels runs the files llama-quantize wrote from the
// DeepSeek-shaped quant fixture (Q4_K/Q6_K in Q4_K_M, Q8_0/MXFP4 in
// MXFP4_MOE) and compares their logits with the f32 source model's: the
// quantized types decode and multiply correctly inside a whole forward pass,
// with SIMD and portable kernels agreeing.
func TestLlamaQuantizeModels(t *testing.T) {
	dir := filepath.Join("..", "testdata", "fixtures", "quant")
	prompt := []int32{1, 17, 42, 99, 256, 300, 7, 511, 3, 64}
	eval := func(name string, viaQuant bool) ([]float32, int) {
		f, err := gguf.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		m, err := Load(f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if viaQuant {
			toF32ViaQuant(t, m)
		}
		l, err := m.NewSession(0).Eval(prompt, true)
		if err != nil {
			t.Fatal(err)
		}
		return l, m.NVocab
	}
	ref, vocab := eval("model-f32.gguf", false)
	for _, file := range []string{"presets-Q4_K_M.gguf", "presets-MXFP4_MOE.gguf"} {
		got, _ := eval(file, false)
		// The same model with every weight decoded by package quant (the
		// ggml-exact reference) into F32 first: the fused kernels must give
		// the same logits up to float32 rounding.
		want, _ := eval(file, true)
		d, _, agree, maxRef := logitStats(got, want, vocab)
		_, nmseF32, agreeF32, _ := logitStats(got, ref, vocab)
		t.Logf("%s: max|Δ| %.3g vs quant-decoded F32 (argmax %d/%d); vs the f32 source model nmse %.3g (argmax %d/%d, quantization error)",
			file, d, agree, len(prompt), nmseF32, agreeF32, len(prompt))
		if d > 1e-4*max(1, maxRef) {
			t.Errorf("%s: logits differ from the quant-decoded model by %.3g", file, d)
		}
		kernels.SetSIMD(false)
		port, _ := eval(file, false)
		kernels.SetSIMD(true)
		if d, _, _, maxRef := logitStats(got, port, vocab); d > 1e-4*max(1, maxRef) {
			t.Errorf("%s: SIMD and portable logits differ by %.3g", file, d)
		}
	}
}

// toF32ViaQuant replaces every quantized weight of m by its F32 decoding
// through quant.Dequantize, in place (the graphs hold the same *Tensor).
func toF32ViaQuant(t *testing.T, m *Model) {
	t.Helper()
	for _, w := range m.tensors {
		if !w.Info.Type.IsQuantized() {
			continue
		}
		n := int(w.Info.NumElements())
		vals := make([]float32, n)
		if err := quant.Dequantize(w.Info.Type, vals, w.Data); err != nil {
			t.Fatal(err)
		}
		info := *w.Info
		info.Type = gguf.TypeF32
		data := make([]byte, 4*n)
		for i, v := range vals {
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
		}
		mat, err := kernels.NewMat(gguf.TypeF32, w.Rows(), w.Cols(), data)
		if err != nil {
			t.Fatal(err)
		}
		w.Info, w.Data, w.mat = &info, data, mat
	}
}
