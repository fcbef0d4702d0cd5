package quant

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// moeModel describes a real MoE model's shapes (no data) for planning.
type moeModel struct {
	arch                    string
	layers, dense           int // block_count, leading dense layers
	experts                 uint64
	heads, headsKV          uint64
	embd, ffExp, ffShared   uint64 // ffShared 0: no shared expert
	ffDense, vocab, headDim uint64
	expertType              gguf.Type
}

func (m moeModel) build() (*gguf.Metadata, []gguf.TensorInfo) {
	md := gguf.NewMetadata()
	md.Set(gguf.KeyArchitecture, gguf.String(m.arch))
	md.Set(m.arch+".block_count", gguf.Uint32(uint32(m.layers)))
	md.Set(m.arch+".expert_count", gguf.Uint32(uint32(m.experts)))
	md.Set(m.arch+".attention.head_count", gguf.Uint32(uint32(m.heads)))
	md.Set(m.arch+".attention.head_count_kv", gguf.Uint32(uint32(m.headsKV)))
	md.Set(gguf.KeyFileType, gguf.Uint32(1))
	ts := []gguf.TensorInfo{
		{Name: "token_embd.weight", Type: gguf.TypeF16, Dims: []uint64{m.embd, m.vocab}},
		{Name: "output_norm.weight", Type: gguf.TypeF32, Dims: []uint64{m.embd}},
		{Name: "output.weight", Type: gguf.TypeF16, Dims: []uint64{m.embd, m.vocab}},
	}
	add := func(name string, typ gguf.Type, dims ...uint64) {
		ts = append(ts, gguf.TensorInfo{Name: name, Type: typ, Dims: dims})
	}
	for l := 0; l < m.layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_norm.weight", gguf.TypeF32, m.embd)
		add(p+"attn_q.weight", gguf.TypeF16, m.embd, m.heads*m.headDim)
		add(p+"attn_k.weight", gguf.TypeF16, m.embd, m.headsKV*m.headDim)
		add(p+"attn_v.weight", gguf.TypeF16, m.embd, m.headsKV*m.headDim)
		add(p+"attn_output.weight", gguf.TypeF16, m.heads*m.headDim, m.embd)
		add(p+"ffn_norm.weight", gguf.TypeF32, m.embd)
		if l < m.dense {
			add(p+"ffn_gate.weight", gguf.TypeF16, m.embd, m.ffDense)
			add(p+"ffn_up.weight", gguf.TypeF16, m.embd, m.ffDense)
			add(p+"ffn_down.weight", gguf.TypeF16, m.ffDense, m.embd)
			continue
		}
		add(p+"ffn_gate_inp.weight", gguf.TypeF32, m.embd, m.experts)
		add(p+"ffn_gate_exps.weight", m.expertType, m.embd, m.ffExp, m.experts)
		add(p+"ffn_up_exps.weight", m.expertType, m.embd, m.ffExp, m.experts)
		add(p+"ffn_down_exps.weight", m.expertType, m.ffExp, m.embd, m.experts)
		if m.ffShared > 0 {
			add(p+"ffn_gate_shexp.weight", gguf.TypeF16, m.embd, m.ffShared)
			add(p+"ffn_up_shexp.weight", gguf.TypeF16, m.embd, m.ffShared)
			add(p+"ffn_down_shexp.weight", gguf.TypeF16, m.ffShared, m.embd)
		}
	}
	return md, ts
}

var (
	gptOSS20B = moeModel{arch: "gpt-oss", layers: 24, experts: 32, heads: 64, headsKV: 8, embd: 2880,
		ffExp: 2880, vocab: 201088, headDim: 64, expertType: gguf.TypeMXFP4}
	phi35MoE = moeModel{arch: "phimoe", layers: 32, experts: 16, heads: 32, headsKV: 8, embd: 4096,
		ffExp: 6400, vocab: 32064, headDim: 128, expertType: gguf.TypeF16}
	deepseekMoE16B = moeModel{arch: "deepseek", layers: 28, dense: 1, experts: 64, heads: 16, headsKV: 16, embd: 2048,
		ffExp: 1408, ffShared: 2816, ffDense: 10944, vocab: 102400, headDim: 128, expertType: gguf.TypeF16}
)

// typesOf plans and returns name → output type.
func typesOf(t *testing.T, r *Recipe, md *gguf.Metadata, ts []gguf.TensorInfo) map[string]gguf.Type {
	t.Helper()
	p, err := r.Plan(md, ts)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]gguf.Type{}
	for _, tp := range p.Tensors {
		out[tp.Out.Name] = tp.Out.Type
	}
	return out
}

// countTypes counts the output types of tensors whose name contains sub.
func countTypes(types map[string]gguf.Type, sub string) map[gguf.Type]int {
	c := map[gguf.Type]int{}
	for n, ty := range types {
		if strings.Contains(n, sub) {
			c[ty]++
		}
	}
	return c
}

func expectCounts(t *testing.T, what string, got map[gguf.Type]int, want map[gguf.Type]int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: %v, want %v", what, got, want)
	}
}

// TestRealModelsQ4_K_M checks the per-tensor choices of llama-quantize
// --dry-run on real-shape models (gguf-format.md §8.5).
func TestRealModelsQ4_K_M(t *testing.T) {
	r := NewRecipe(FtypeQ4_K_M)

	md, ts := gptOSS20B.build()
	if _, err := r.Plan(md, ts); err == nil || !strings.Contains(err.Error(), "allow-requantize") {
		t.Errorf("gpt-oss MXFP4 experts to Q4_K_M without --allow-requantize: err = %v", err)
	}
	r.AllowRequantize = true
	ty := typesOf(t, r, md, ts)
	expectCounts(t, "gpt-oss gate_exps", countTypes(ty, "ffn_gate_exps"), map[gguf.Type]int{gguf.TypeQ5_0: 24})
	expectCounts(t, "gpt-oss up_exps", countTypes(ty, "ffn_up_exps"), map[gguf.Type]int{gguf.TypeQ5_0: 24})
	expectCounts(t, "gpt-oss down_exps", countTypes(ty, "ffn_down_exps"), map[gguf.Type]int{gguf.TypeQ8_0: 12, gguf.TypeQ5_0: 12})
	if ty["output.weight"] != gguf.TypeQ8_0 || ty["token_embd.weight"] != gguf.TypeQ5_0 {
		t.Errorf("gpt-oss output %s, token_embd %s; want Q8_0, Q5_0", ty["output.weight"], ty["token_embd.weight"])
	}
	if ty["blk.0.attn_output.weight"] != gguf.TypeQ4_K {
		t.Errorf("gpt-oss attn_output (ne0 4096) = %s, want Q4_K", ty["blk.0.attn_output.weight"])
	}

	md, ts = phi35MoE.build()
	ty = typesOf(t, NewRecipe(FtypeQ4_K_M), md, ts)
	expectCounts(t, "phi gate_exps", countTypes(ty, "ffn_gate_exps"), map[gguf.Type]int{gguf.TypeQ4_K: 32})
	expectCounts(t, "phi down_exps", countTypes(ty, "ffn_down_exps"), map[gguf.Type]int{gguf.TypeQ6_K: 16, gguf.TypeQ4_K: 16})
	expectCounts(t, "phi attn_v", countTypes(ty, "attn_v"), map[gguf.Type]int{gguf.TypeQ6_K: 16, gguf.TypeQ4_K: 16})
	if ty["output.weight"] != gguf.TypeQ6_K || ty["token_embd.weight"] != gguf.TypeQ4_K {
		t.Errorf("phi output %s, token_embd %s", ty["output.weight"], ty["token_embd.weight"])
	}

	md, ts = deepseekMoE16B.build()
	ty = typesOf(t, NewRecipe(FtypeQ4_K_M), md, ts)
	expectCounts(t, "deepseek gate_exps", countTypes(ty, "ffn_gate_exps"), map[gguf.Type]int{gguf.TypeQ4_K: 27})
	expectCounts(t, "deepseek down_exps", countTypes(ty, "ffn_down_exps"), map[gguf.Type]int{gguf.TypeQ8_0: 13, gguf.TypeQ5_0: 14})
	expectCounts(t, "deepseek down_shexp", countTypes(ty, "ffn_down_shexp"), map[gguf.Type]int{gguf.TypeQ6_K: 13, gguf.TypeQ4_K: 14})
	if ty["blk.0.ffn_down.weight"] != gguf.TypeQ8_0 {
		t.Errorf("deepseek dense ffn_down (ne0 10944, layer 0) = %s, want Q8_0", ty["blk.0.ffn_down.weight"])
	}
}

// TestMXFP4MOE: experts MXFP4, every other 2-D weight Q8_0; gpt-oss's
// MXFP4 experts are copied and need no --allow-requantize.
func TestMXFP4MOE(t *testing.T) {
	md, ts := gptOSS20B.build()
	ty := typesOf(t, NewRecipe(FtypeMXFP4_MOE), md, ts)
	expectCounts(t, "exps", countTypes(ty, "_exps"), map[gguf.Type]int{gguf.TypeMXFP4: 72})
	expectCounts(t, "attn", countTypes(ty, "attn_"), map[gguf.Type]int{gguf.TypeQ8_0: 96, gguf.TypeF32: 24})
	if ty["token_embd.weight"] != gguf.TypeQ8_0 || ty["output.weight"] != gguf.TypeQ8_0 {
		t.Errorf("token_embd %s output %s", ty["token_embd.weight"], ty["output.weight"])
	}
}

func TestFallback(t *testing.T) {
	cases := []struct {
		ne0      uint64
		in, want gguf.Type
	}{
		{2880, gguf.TypeQ4_K, gguf.TypeQ5_0},
		{2880, gguf.TypeQ5_K, gguf.TypeQ5_1},
		{2880, gguf.TypeQ6_K, gguf.TypeQ8_0},
		{2880, gguf.TypeQ2_K, gguf.TypeQ4_0},
		{2880, gguf.TypeQ3_K, gguf.TypeQ4_0},
		{2816, gguf.TypeQ4_K, gguf.TypeQ4_K},
		{100, gguf.TypeQ4_K, gguf.TypeF16},
		{100, gguf.TypeQ8_0, gguf.TypeF16},
		{100, gguf.TypeMXFP4, gguf.TypeF16},
		{96, gguf.TypeMXFP4, gguf.TypeMXFP4},
	}
	for _, c := range cases {
		ti := gguf.TensorInfo{Name: "x.weight", Dims: []uint64{c.ne0, 4}}
		if got := fallback(&ti, c.in); got != c.want {
			t.Errorf("fallback(ne0 %d, %s) = %s, want %s", c.ne0, c.in, got, c.want)
		}
	}
}

// TestUseMoreBits pins the layer rule on the fixture and real layer counts.
func TestUseMoreBits(t *testing.T) {
	count := func(n int) int {
		c := 0
		for i := 0; i < n; i++ {
			if useMoreBits(i, n) {
				c++
			}
		}
		return c
	}
	for n, want := range map[int]int{2: 1, 24: 12, 32: 16, 36: 18, 28: 14} {
		if got := count(n); got != want {
			t.Errorf("use_more_bits over %d layers: %d, want %d", n, got, want)
		}
	}
}

func TestTensorOrder(t *testing.T) {
	names := []string{"blk.10.a", "blk.2.z", "token_embd.weight", "blk.2.a", "output.weight", "blk.-1x", "blk.0.b"}
	// blk.-1x parses as layer -1 (as sscanf reads it) and sorts by name
	// among the non-block tensors; layers compare as numbers.
	got := append([]string(nil), names...)
	for i := range got {
		for j := i + 1; j < len(got); j++ {
			if weightLess(got[j], got[i]) {
				got[i], got[j] = got[j], got[i]
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint([]string{"blk.-1x", "output.weight", "token_embd.weight", "blk.0.b", "blk.2.a", "blk.2.z", "blk.10.a"}) {
		t.Errorf("order %v", got)
	}
}

// TestOptionsOnFixture: --tensor-type (first match wins, pattern
// lowercased), --output-tensor-type, --token-embedding-type, --pure.
func TestOptionsOnFixture(t *testing.T) {
	src := openSource(t)
	r := NewRecipe(FtypeQ4_K_M)
	for _, s := range []string{"ATTN_=q8_0", "attn_v=q4_0", "exps=q5_k"} {
		rule, err := ParseTensorTypeRule(s)
		if err != nil {
			t.Fatal(err)
		}
		r.TensorTypes = append(r.TensorTypes, rule)
	}
	r.OutputTensorType = gguf.TypeQ8_0
	r.TokenEmbeddingType = gguf.TypeQ6_K
	ty := typesOf(t, r, src.Metadata, src.Tensors)
	want := map[string]gguf.Type{
		"blk.1.attn_v.weight":         gguf.TypeQ8_0, // first match, not attn_v=q4_0
		"blk.0.attn_q.weight":         gguf.TypeQ8_0,
		"blk.1.ffn_down_exps.weight":  gguf.TypeQ5_K,
		"blk.1.ffn_down_shexp.weight": gguf.TypeQ6_K, // mixture rule (use_more_bits(1, 2))
		"blk.0.ffn_down.weight":       gguf.TypeQ4_K,
		"output.weight":               gguf.TypeQ8_0,
		"token_embd.weight":           gguf.TypeQ6_K,
		"blk.1.ffn_gate_inp.weight":   gguf.TypeF32,
		"blk.1.attn_norm.weight":      gguf.TypeF32,
	}
	for n, w := range want {
		if ty[n] != w {
			t.Errorf("%s = %s, want %s", n, ty[n], w)
		}
	}
	for _, bad := range []string{"noequals", "=q8_0", "x=", "x=q9_9", "(=q8_0", "x=iq2_xxs"} {
		if _, err := ParseTensorTypeRule(bad); err == nil {
			t.Errorf("ParseTensorTypeRule(%q) accepted", bad)
		}
	}
}

// TestExpertsDenseRecipe: gguftool's own recipe on the fixture, written
// out and read back.
func TestExpertsDenseRecipe(t *testing.T) {
	src := openSource(t)
	r := NewRecipe(FtypeQ4_K_M)
	r.ExpertsType, r.DenseType = gguf.TypeQ4_K, gguf.TypeQ8_0
	p, err := r.Plan(src.Metadata, src.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range p.Tensors {
		var want gguf.Type
		switch {
		case tp.Src.IsExperts():
			want = gguf.TypeQ4_K
		case strings.Contains(tp.Src.Name, "norm") || strings.Contains(tp.Src.Name, "gate_inp") || len(tp.Src.Dims) < 2:
			want = gguf.TypeF32
		default:
			want = gguf.TypeQ8_0
		}
		if tp.Out.Type != want {
			t.Errorf("%s: %s, want %s", tp.Src.Name, tp.Out.Type, want)
		}
	}
	keys := p.Metadata.Keys()
	n := len(keys)
	if keys[n-3] != RecipeKey || keys[n-2] != gguf.KeyQuantizationVersion || keys[n-1] != gguf.KeyFileType {
		t.Errorf("last keys %v", keys[n-3:])
	}
	if s, _ := p.Metadata.String(RecipeKey); s != "ftype=Q4_K_M experts=Q4_K dense=Q8_0" {
		t.Errorf("recipe %q", s)
	}
	out := filepath.Join(t.TempDir(), "out.gguf")
	writeFile(t, p, src, out)
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ft, _ := f.Metadata.Uint32(gguf.KeyFileType); ft != uint32(FtypeQ4_K_M) {
		t.Errorf("file_type %d", ft)
	}
	// The expert bytes are the Q4_K encoding of the source.
	x := f32Tensor(t, src, "blk.1.ffn_up_exps.weight")
	want := make([]byte, gguf.TypeQ4_K.RowSize(int64(len(x))))
	if err := Quantize(gguf.TypeQ4_K, want, x); err != nil {
		t.Fatal(err)
	}
	got, err := f.TensorData("blk.1.ffn_up_exps.weight")
	if err != nil || string(got) != string(want) {
		t.Errorf("expert bytes differ (%v)", err)
	}
}

// TestRequantize: a quantized input is refused for another type without
// AllowRequantize, and reproduces itself byte for byte under its own
// preset (nothing to convert).
func TestRequantize(t *testing.T) {
	in, err := gguf.Open(filepath.Join(fixtureDir, "presets-Q4_K_M.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if _, err := NewRecipe(FtypeQ8_0).Plan(in.Metadata, in.Tensors); err == nil ||
		!strings.Contains(err.Error(), "output.weight") || !strings.Contains(err.Error(), "allow-requantize") {
		t.Errorf("requantize without permission: %v", err)
	}
	p, err := NewRecipe(FtypeQ4_K_M).Plan(in.Metadata, in.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytesBuffer
	if _, err := p.Write(&buf, in, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if string(buf.b) != string(in.Shards[0].Bytes()) {
		t.Error("Q4_K_M of a Q4_K_M file is not the same file")
	}
	r := NewRecipe(FtypeQ8_0)
	r.AllowRequantize = true
	p, err = r.Plan(in.Metadata, in.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := p.Write(&bytesBuffer{}, in, WriteOptions{Report: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range reps {
		if rep.Converted && (rep.RMSE <= 0 || rep.RMSE > 0.01) {
			t.Errorf("%s: Q4_K→Q8_0 RMSE %g", rep.Name, rep.RMSE)
		}
	}
}

func writeFile(t *testing.T, p *Plan, src *gguf.File, path string) {
	t.Helper()
	var buf bytesBuffer
	if _, err := p.Write(&buf, src, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := osWriteFile(path, buf.b); err != nil {
		t.Fatal(err)
	}
}

// TestSmallPresets: the _S presets' layer rules on Phi-3.5-MoE shapes
// (32 layers): Q4_K_S gives the first 4 attn_v and the first n/8 ffn_down
// Q5_K; Q5_K_S has no mixture beyond output Q6_K.
func TestSmallPresets(t *testing.T) {
	md, ts := phi35MoE.build()
	ty := typesOf(t, NewRecipe(FtypeQ4_K_S), md, ts)
	expectCounts(t, "Q4_K_S attn_v", countTypes(ty, "attn_v"), map[gguf.Type]int{gguf.TypeQ5_K: 4, gguf.TypeQ4_K: 28})
	expectCounts(t, "Q4_K_S down_exps", countTypes(ty, "ffn_down_exps"), map[gguf.Type]int{gguf.TypeQ5_K: 4, gguf.TypeQ4_K: 28})
	if ty["blk.0.attn_v.weight"] != gguf.TypeQ5_K || ty["blk.4.attn_v.weight"] != gguf.TypeQ4_K {
		t.Errorf("Q4_K_S attn_v order: %s %s", ty["blk.0.attn_v.weight"], ty["blk.4.attn_v.weight"])
	}
	ty = typesOf(t, NewRecipe(FtypeQ5_K_S), md, ts)
	expectCounts(t, "Q5_K_S down_exps", countTypes(ty, "ffn_down_exps"), map[gguf.Type]int{gguf.TypeQ5_K: 32})
	if ty["output.weight"] != gguf.TypeQ6_K || ty["token_embd.weight"] != gguf.TypeQ5_K {
		t.Errorf("Q5_K_S output %s token_embd %s", ty["output.weight"], ty["token_embd.weight"])
	}
	ty = typesOf(t, NewRecipe(FtypeQ3_K_M), md, ts)
	expectCounts(t, "Q3_K_M down_exps", countTypes(ty, "ffn_down_exps"), map[gguf.Type]int{gguf.TypeQ5_K: 2, gguf.TypeQ4_K: 30})
	expectCounts(t, "Q3_K_M attn_output", countTypes(ty, "attn_output"), map[gguf.Type]int{gguf.TypeQ4_K: 32})
	// Plain float presets: every quantizable weight in that type, the rest
	// (norms, routers) untouched.
	ty = typesOf(t, NewRecipe(FtypeBF16), md, ts)
	if ty["blk.0.ffn_up_exps.weight"] != gguf.TypeBF16 || ty["output.weight"] != gguf.TypeBF16 ||
		ty["blk.0.ffn_gate_inp.weight"] != gguf.TypeF32 || ty["blk.0.attn_norm.weight"] != gguf.TypeF32 {
		t.Errorf("BF16 preset: %v", ty)
	}
	r := NewRecipe(FtypeQ4_K_M)
	r.LeaveOutputTensor = true
	if ty := typesOf(t, r, md, ts); ty["output.weight"] != gguf.TypeF16 {
		t.Errorf("--leave-output-tensor: output %s", ty["output.weight"])
	}
}

// FuzzPlan: arbitrary names, shapes, types and layer counts never panic
// the planner; every output type is one the writer can produce or the
// input's own.
func FuzzPlan(f *testing.F) {
	f.Add("blk.1.ffn_down_exps.weight", uint64(2880), uint64(64), uint64(4), uint8(0), uint8(15), uint32(2), uint32(8))
	f.Add("output.weight", uint64(100), uint64(1), uint64(1), uint8(1), uint8(38), uint32(0), uint32(0))
	f.Add("blk.99999999999999999999.attn_v.weight", uint64(256), uint64(2), uint64(1), uint8(30), uint8(10), uint32(1), uint32(1))
	f.Fuzz(func(t *testing.T, name string, ne0, ne1, ne2 uint64, typ, ftype uint8, layers, experts uint32) {
		in := gguf.Type(typ)
		if !in.Valid() || ne0 == 0 || ne0%uint64(in.BlockSize()) != 0 || ne0 > 1<<20 || ne1 > 1<<20 || ne2 > 1<<10 {
			return
		}
		md := gguf.NewMetadata()
		md.Set(gguf.KeyArchitecture, gguf.String("llama"))
		md.Set("llama.block_count", gguf.Uint32(layers))
		md.Set("llama.expert_count", gguf.Uint32(experts))
		ts := []gguf.TensorInfo{
			{Name: name, Type: in, Dims: []uint64{ne0, ne1, ne2}},
			{Name: "blk.0.attn_v.weight", Type: gguf.TypeF32, Dims: []uint64{256, 256}},
		}
		r := NewRecipe(Ftype(ftype))
		r.AllowRequantize = true
		p, err := r.Plan(md, ts)
		if err != nil {
			return
		}
		for _, tp := range p.Tensors {
			if tp.Out.Type != tp.Src.Type && !Supported(tp.Out.Type) {
				t.Errorf("%s: planned unsupported %s", tp.Out.Name, tp.Out.Type)
			}
			if tp.Out.Dims[0]%uint64(tp.Out.Type.BlockSize()) != 0 {
				t.Errorf("%s: %s does not divide ne0 %d", tp.Out.Name, tp.Out.Type, tp.Out.Dims[0])
			}
		}
	})
}

func TestQ2_K_SNeedsImatrix(t *testing.T) {
	md, ts := phi35MoE.build()
	if _, err := NewRecipe(FtypeQ2_K_S).Plan(md, ts); err == nil || !strings.Contains(err.Error(), "importance matrix") {
		t.Errorf("Q2_K_S: %v", err)
	}
}
