package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/quant"
)

var allTypes = []gguf.Type{gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ5_0,
	gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeMXFP4}

// genericTypes run through package quant's dequantizers.
var genericTypes = []gguf.Type{gguf.TypeQ4_1, gguf.TypeQ5_1, gguf.TypeQ2_K, gguf.TypeQ3_K}

func randFloats(r *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

// quantized returns rows×cols random weights stored in type t (via the
// bit-exact ggml reference quantizer of package quant).
func quantized(t *testing.T, typ gguf.Type, rows, cols int, seed uint64) Mat {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	src := randFloats(r, rows*cols, 0.5)
	data := make([]byte, rows*int(typ.RowSize(int64(cols))))
	if err := quant.Quantize(typ, data, src); err != nil {
		t.Fatalf("quantize %s: %v", typ, err)
	}
	m, err := NewMat(typ, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDequantizeMatchesQuant checks the fused decoders against package
// quant's ggml-exact dequantizers, bit for bit.
func TestDequantizeMatchesQuant(t *testing.T) {
	for _, typ := range allTypes {
		m := quantized(t, typ, 3, 512, uint64(typ))
		got := make([]float32, 3*512)
		want := make([]float32, 3*512)
		m.DequantizeRows(got, 0, 3)
		if err := quant.Dequantize(typ, want, m.Data); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: element %d = %v, quant.Dequantize gives %v", typ, i, got[i], want[i])
			}
		}
	}
}

// TestDequantizeLlamaQuantizeFiles decodes tensors written by llama-quantize
// (testdata/fixtures/quant) and compares with package quant, and checks that
// they approximate the f32 source they were quantized from.
func TestDequantizeLlamaQuantizeFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "fixtures", "quant")
	src, err := gguf.Open(filepath.Join(dir, "model-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	seen := map[gguf.Type]bool{}
	for _, name := range []string{"presets-Q4_K_M.gguf", "presets-MXFP4_MOE.gguf"} {
		f, err := gguf.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for i := range f.Tensors {
			ti := &f.Tensors[i]
			if !ti.Type.IsQuantized() {
				continue
			}
			seen[ti.Type] = true
			n := int(ti.NumElements())
			got := make([]float32, n)
			want := make([]float32, n)
			cols := int(ti.Dims[0])
			m, err := NewMat(ti.Type, n/cols, cols, f.Data(ti))
			if err != nil {
				t.Fatalf("%s %s: %v", name, ti.Name, err)
			}
			m.DequantizeRows(got, 0, n/cols)
			if err := quant.Dequantize(ti.Type, want, f.Data(ti)); err != nil {
				t.Fatal(err)
			}
			orig, _ := src.TensorData(ti.Name)
			var errSq, refSq float64
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					t.Fatalf("%s %s (%s): element %d = %v, quant gives %v", name, ti.Name, ti.Type, j, got[j], want[j])
				}
				o := float64(math.Float32frombits(uint32(orig[4*j]) | uint32(orig[4*j+1])<<8 | uint32(orig[4*j+2])<<16 | uint32(orig[4*j+3])<<24))
				errSq += (float64(got[j]) - o) * (float64(got[j]) - o)
				refSq += o * o
			}
			if refSq > 0 && errSq/refSq > 0.05 {
				t.Errorf("%s %s (%s): nmse %.3g vs the f32 source, decoding looks wrong", name, ti.Name, ti.Type, errSq/refSq)
			}
		}
	}
	for _, typ := range []gguf.Type{gguf.TypeQ4_K, gguf.TypeQ6_K, gguf.TypeQ8_0, gguf.TypeMXFP4} {
		if !seen[typ] {
			t.Errorf("no %s tensor found in the llama-quantize fixtures", typ)
		}
	}
}

// naiveMatVec is the float64 reference: dequantize, then multiply.
func naiveMatVec(m Mat, x []float32) []float64 {
	w := make([]float32, m.Rows*m.Cols)
	m.DequantizeRows(w, 0, m.Rows)
	y := make([]float64, m.Rows)
	for r := 0; r < m.Rows; r++ {
		var s float64
		for i := 0; i < m.Cols; i++ {
			s += float64(w[r*m.Cols+i]) * float64(x[i])
		}
		y[r] = s
	}
	return y
}

func checkClose(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	var scale float64
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*max(scale, 1) {
			t.Fatalf("%s: element %d = %v, want %v (|Δ| %.3g)", what, i, got[i], want[i], d)
		}
	}
}

func TestMatVecAndMatMulAgainstFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, typ := range append(append([]gguf.Type{}, allTypes...), genericTypes...) {
		for _, shape := range [][2]int{{37, 256}, {300, 512}, {5, 2816}} {
			m := quantized(t, typ, shape[0], shape[1], uint64(shape[0]))
			x := randFloats(r, 11*m.Cols, 1)
			got := make([]float32, m.Rows)
			MatVec(got, m, x)
			checkClose(t, typ.String()+" MatVec", got, naiveMatVec(m, x), 1e-5)
			// n ≤ fusedMaxTokens takes the fused path, larger n the tiled one
			// (11 = two 4-token passes, one 2-token pass, one single token).
			for _, n := range []int{2, fusedMaxTokens(typ), 9, 11} {
				gotN := make([]float32, n*m.Rows)
				MatMul(gotN, m, x, n)
				for j := 0; j < n; j++ {
					checkClose(t, fmt.Sprintf("%s MatMul n=%d", typ, n), gotN[j*m.Rows:(j+1)*m.Rows], naiveMatVec(m, x[j*m.Cols:]), 1e-5)
				}
			}
		}
	}
}

func TestNewMatRejectsBadShapes(t *testing.T) {
	if _, err := NewMat(gguf.TypeQ4_K, 2, 100, make([]byte, 1000)); err == nil {
		t.Error("accepted a Q4_K row that is not a multiple of 256")
	}
	if _, err := NewMat(gguf.TypeF32, 2, 4, make([]byte, 31)); err == nil {
		t.Error("accepted short data")
	}
	if _, err := NewMat(gguf.TypeIQ2_XXS, 1, 256, make([]byte, 66)); err == nil {
		t.Error("accepted an unsupported type")
	}
	if err := DequantizeRow(gguf.TypeQ8_0, make([]float32, 32), make([]byte, 33)); err == nil {
		t.Error("DequantizeRow accepted a short block")
	}
}

func TestHalf(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		if got, want := F16ToF32(uint16(h)), quant.FP16ToFP32(uint16(h)); math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("f16 %#04x: %v, quant gives %v", h, got, want)
		}
	}
}
