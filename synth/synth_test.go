package synth

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/quant"
)

// fixtureDump is the shape of testdata/fixtures/*/llama.cpp/*.gguf.json:
// what llama.cpp's convert_hf_to_gguf.py wrote for the fixture checkpoints.
type fixtureDump struct {
	Alignment int `json:"alignment"`
	KV        map[string]struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
		Count int             `json:"count"`
	} `json:"kv"`
	Tensors []struct {
		Name   string   `json:"name"`
		Type   string   `json:"type"`
		Ne     []uint64 `json:"ne"`
		Offset int64    `json:"offset"`
		NBytes uint64   `json:"nbytes"`
	} `json:"tensors"`
}

// kvOrder reads the key order of a dump (Go maps lose it).
func kvOrder(t *testing.T, raw []byte) []string {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(top["kv"]))
	var keys []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
			} else {
				depth--
			}
		case string:
			if depth == 1 {
				keys = append(keys, v)
				// skip the value
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return keys
}

func typeName(v gguf.Value) string {
	if v.Type() == gguf.ValueArray {
		return "ARRAY[" + v.ElemType().String() + "]"
	}
	return v.Type().String()
}

// TestTinyPresetsMatchConverter checks the tiny presets against llama.cpp's
// own conversions of the fixture checkpoints of the same geometry: every
// key (name, type, order; values outside the tokenizer), and every tensor
// (name, type, shape, byte size, data-relative offset, order).
func TestTinyPresetsMatchConverter(t *testing.T) {
	fixtures := map[string]string{
		"tiny-gpt-oss": "gpt-oss", "tiny-phimoe": "phimoe",
		"tiny-deepseek-moe": "deepseek-moe", "tiny-deepseek-v2-lite": "deepseek-v2-lite",
	}
	for preset, dir := range fixtures {
		for _, typ := range []string{"f32", "f16", "bf16", "q8_0"} {
			t.Run(preset+"/"+typ, func(t *testing.T) {
				path := filepath.Join("..", "testdata", "fixtures", dir, "llama.cpp", typ+".gguf.json")
				raw, err := os.ReadFile(path)
				if err != nil {
					t.Skip(err)
				}
				var want fixtureDump
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatal(err)
				}
				m, err := Build(Options{Preset: preset, Type: typ})
				if err != nil {
					t.Fatal(err)
				}
				wantKeys := kvOrder(t, raw)
				gotKeys := m.Metadata.Keys()
				if fmt.Sprint(gotKeys) != fmt.Sprint(wantKeys) {
					t.Fatalf("key order:\n got %v\nwant %v", gotKeys, wantKeys)
				}
				for _, k := range wantKeys {
					w := want.KV[k]
					v, _ := m.Metadata.Get(k)
					if typeName(v) != w.Type {
						t.Errorf("%s: type %s, want %s", k, typeName(v), w.Type)
					}
					if v.Type() == gguf.ValueArray {
						if v.Len() != w.Count {
							t.Errorf("%s: %d elements, want %d", k, v.Len(), w.Count)
						}
						continue
					}
					if k == "tokenizer.chat_template" {
						continue // synthetic
					}
					var wv any
					if err := json.Unmarshal(w.Value, &wv); err != nil {
						t.Fatal(err)
					}
					gv := v.Any()
					switch x := gv.(type) {
					case float32:
						if float32(wv.(float64)) != x {
							t.Errorf("%s = %v, want %v", k, x, wv)
						}
					case uint32:
						if float64(x) != wv.(float64) {
							t.Errorf("%s = %v, want %v", k, x, wv)
						}
					default:
						if fmt.Sprint(gv) != fmt.Sprint(wv) {
							t.Errorf("%s = %v, want %v", k, gv, wv)
						}
					}
				}
				if len(m.Tensors) != len(want.Tensors) {
					t.Fatalf("%d tensors, want %d", len(m.Tensors), len(want.Tensors))
				}
				base := want.Tensors[0].Offset
				for i, w := range want.Tensors {
					g := m.Tensors[i]
					if g.Name != w.Name || g.Type.String() != w.Type || fmt.Sprint(g.Dims) != fmt.Sprint(w.Ne) ||
						g.Size() != w.NBytes || int64(g.Offset) != w.Offset-base {
						t.Errorf("tensor %d: got %s %s %v size %d off %d; want %s %s %v size %d off %d", i,
							g.Name, g.Type, g.Dims, g.Size(), g.Offset, w.Name, w.Type, w.Ne, w.NBytes, w.Offset-base)
					}
				}
			})
		}
	}
}

// TestRecipesMatchLlamaQuantize applies the Q4_K_M and MXFP4_MOE recipes to
// the tensor list of the quantization fixture and compares with the types
// llama-quantize chose (testdata/fixtures/quant/presets-*.gguf.json).
func TestRecipesMatchLlamaQuantize(t *testing.T) {
	for _, preset := range []string{"Q4_K_M", "MXFP4_MOE"} {
		raw, err := os.ReadFile("../testdata/fixtures/quant/presets-" + preset + ".gguf.json")
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			KV []struct {
				Key   string          `json:"key"`
				Value json.RawMessage `json:"value"`
			} `json:"kv"`
			Tensors []struct {
				Name string   `json:"name"`
				Type string   `json:"type"`
				Ne   []uint64 `json:"ne"`
			} `json:"tensors"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		var nLayer, nExpert int
		var fileType uint32
		for _, kv := range d.KV {
			switch kv.Key {
			case "deepseek.block_count":
				json.Unmarshal(kv.Value, &nLayer)
			case "deepseek.expert_count":
				json.Unmarshal(kv.Value, &nExpert)
			case "general.file_type":
				json.Unmarshal(kv.Value, &fileType)
			}
		}
		var ts []tensor
		var cur []gguf.Type
		for _, x := range d.Tensors {
			ts = append(ts, tensor{name: x.Name, dims: x.Ne})
			cur = append(cur, gguf.TypeF32) // the fixture's input is all F32
		}
		rc, _ := parseRecipe(preset)
		var got []gguf.Type
		if preset == "Q4_K_M" {
			got = q4KM(ts, cur, nLayer, nExpert)
		} else {
			got = mxfp4MoE(ts, cur)
		}
		for i, x := range d.Tensors {
			if got[i].String() != x.Type {
				t.Errorf("%s: %s: %s, llama-quantize chose %s", preset, x.Name, got[i], x.Type)
			}
		}
		if rc.fileType(false) != fileType {
			t.Errorf("%s: file_type %d, llama-quantize wrote %d", preset, rc.fileType(false), fileType)
		}
		if last := d.KV[len(d.KV)-1].Key; last != gguf.KeyFileType {
			t.Errorf("%s: llama-quantize's last key is %s", preset, last)
		}
	}
}

// TestFullSizeGeometry compares the byte totals of the full-size presets
// (computed from the header alone) with the sizes llama.cpp measured on
// real-shape files (performance.md §2.1, offload.md §6.1 and §7; GB = 1e9).
// The tables print two decimals, so the tolerance is a little over half a
// unit in the last place (the file size also differs by the tokenizer).
func TestFullSizeGeometry(t *testing.T) {
	cases := []struct {
		preset, typ          string
		fileGB, expertsGB    float64
		tokenEmbdGB, attnGB  float64
		paramsLlamaCpp       uint64
		fileTolGB, partTolGB float64
	}{
		{"gpt-oss-20b", "q8_0", 12.10, 10.15, 0.615, 0.678, 20914757184, 0.015, 0.006},
		{"gpt-oss-20b", "mxfp4_moe", 12.10, 10.15, 0.615, 0.678, 20914757184, 0.015, 0.006},
		{"phi-3.5-moe", "mxfp4_moe", 23.11, 21.39, 0.140, 1.428, 41873153472, 0.015, 0.006},
		{"deepseek-moe-16b", "mxfp4_moe", 9.47, 7.94, 0.223, 0.499, 16375728128, 0.015, 0.006},
		{"gpt-oss-120b", "q8_0", 63.37, 60.91, 0.615, 1.017, 116829156672, 0.015, 0.006},
		{"phi-3.5-moe", "q4_k_m", 25.35, 24.38, 0.074, 0.775, 41873153472, 0.015, 0.006},
		{"phi-3.5-moe", "q8_0", 44.50, 42.78, 0.140, 1.428, 41873153472, 0.015, 0.006},
		{"deepseek-moe-16b", "q4_k_m", 10.85, 9.93, 0.118, 0.280, 16375728128, 0.015, 0.006},
		{"deepseek-moe-16b", "q8_0", 17.41, 15.88, 0.223, 0.499, 16375728128, 0.015, 0.006},
		{"deepseek-v2-lite", "q4_k_m", 10.36, 9.53, 0.118, 0.213, 15706484224, 0.015, 0.006},
		{"deepseek-v2-lite", "q8_0", 16.70, 15.30, 0.223, 0.395, 15706484224, 0.015, 0.006},
	}
	for _, c := range cases {
		t.Run(c.preset+"/"+c.typ, func(t *testing.T) {
			m, err := Build(Options{Preset: c.preset, Type: c.typ})
			if err != nil {
				t.Fatal(err)
			}
			var experts, embd, attn, params uint64
			for i := range m.Tensors {
				x := &m.Tensors[i]
				params += x.NumElements()
				switch {
				case x.IsExperts() && bytes.HasSuffix([]byte(x.Name), []byte(".weight")):
					experts += x.Size() // the table counts expert weights, not gpt-oss's expert biases
				case x.IsExperts():
				case x.Name == "token_embd.weight":
					embd += x.Size()
				case bytes.Contains([]byte(x.Name), []byte(".attn_")) && !bytes.Contains([]byte(x.Name), []byte("_norm")):
					attn += x.Size()
				}
			}
			gb := func(b uint64) float64 { return float64(b) / 1e9 }
			check := func(what string, got, want, tol float64) {
				if math.Abs(got-want) > tol {
					t.Errorf("%s: %.3f GB, llama.cpp measured %.3f GB (tolerance %.3f)", what, got, want, tol)
				}
			}
			check("file", float64(m.Size)/1e9, c.fileGB, c.fileTolGB)
			check("routed experts", gb(experts), c.expertsGB, c.partTolGB)
			check("token_embd", gb(embd), c.tokenEmbdGB, c.partTolGB)
			check("attention", gb(attn), c.attnGB, c.partTolGB+0.001*c.attnGB)
			if params != c.paramsLlamaCpp {
				t.Errorf("params %d, llama.cpp counted %d", params, c.paramsLlamaCpp)
			}
		})
	}
}

// TestGptOss20bF16MatchesLlamaCppBuffers: llama.cpp loaded a random
// gpt-oss-20b written by its converter with --outtype f16 and reported
// CUDA_Host 1,104.61 MiB (token_embd) and CUDA0 12,036.68 MiB for the rest
// (offload.md §7). The preset must have exactly these sizes.
func TestGptOss20bF16MatchesLlamaCppBuffers(t *testing.T) {
	m, err := Build(Options{Preset: "gpt-oss-20b"})
	if err != nil {
		t.Fatal(err)
	}
	var embd, rest uint64
	for i := range m.Tensors {
		x := &m.Tensors[i]
		if x.Name == "token_embd.weight" {
			embd += x.Size()
		} else {
			rest += x.Size()
		}
	}
	mib := func(b uint64) float64 { return float64(b) / (1 << 20) }
	if math.Abs(mib(embd)-1104.61) > 0.01 {
		t.Errorf("token_embd %.2f MiB, llama.cpp 1104.61", mib(embd))
	}
	// llama.cpp pads each tensor in its buffer; allow 0.1 MiB.
	if math.Abs(mib(rest)-12036.68) > 0.1 {
		t.Errorf("other tensors %.2f MiB, llama.cpp 12036.68", mib(rest))
	}
	if gb := float64(m.Size) / 1e9; math.Abs(gb-13.8) > 0.05 {
		t.Errorf("file %.2f GB, offload.md §7 says 13.8 GB", gb)
	}
}

// TestWriteTinyIsValid writes every tiny preset in every type, reads it
// back with the gguf reader and checks the header, the size and that every
// tensor's dequantized values have the distribution specFor chose.
func TestWriteTinyIsValid(t *testing.T) {
	dir := t.TempDir()
	for _, preset := range []string{"tiny-gpt-oss", "tiny-phimoe", "tiny-deepseek-moe", "tiny-deepseek-v2-lite"} {
		for _, typ := range Types {
			m, err := Build(Options{Preset: preset, Type: typ, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, preset+"-"+typ+".gguf")
			var buf bytes.Buffer
			if err := m.WriteTo(&buf, nil); err != nil {
				t.Fatalf("%s %s: %v", preset, typ, err)
			}
			if int64(buf.Len()) != m.Size {
				t.Fatalf("%s %s: wrote %d bytes, header says %d", preset, typ, buf.Len(), m.Size)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(path)
			if err != nil {
				t.Fatalf("%s %s: reader refuses the file: %v", preset, typ, err)
			}
			for i := range f.Tensors {
				ti := &f.Tensors[i]
				if err := checkData(ti, f.Data(ti), m.Preset.Layers); err != nil {
					t.Errorf("%s %s: tensor %s: %v", preset, typ, ti.Name, err)
				}
			}
			f.Close()
			// Same seed, same bytes.
			var again bytes.Buffer
			m2, _ := Build(Options{Preset: preset, Type: typ, Seed: 7})
			if err := m2.WriteTo(&again, nil); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
				t.Errorf("%s %s: not deterministic", preset, typ)
			}
		}
	}
}

// checkData dequantizes a tensor and checks that its values are finite and
// have the mean and standard deviation specFor chose (to within sampling
// error and the 2^u steps of the block scales), none beyond 5σ of the mean.
func checkData(ti *gguf.TensorInfo, b []byte, layers int) error {
	n := int(ti.NumElements())
	vals := make([]float32, n)
	if err := quant.Dequantize(ti.Type, vals, b); err != nil {
		return err
	}
	want := specFor(ti.Name, ti.Dims, layers)
	var sum, sq float64
	for _, v := range vals {
		x := float64(v)
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x-want.mean) > 5*want.sigma+1e-6 {
			return fmt.Errorf("value %g outside mean %g ± 5σ (σ %g)", v, want.mean, want.sigma)
		}
		sum += x
		sq += (x - want.mean) * (x - want.mean)
	}
	if n < 1024 || want.sigma == 0 {
		return nil // too few values for statistics, or constant
	}
	mean, rms := sum/float64(n), math.Sqrt(sq/float64(n))
	if math.Abs(mean-want.mean) > 0.1*want.sigma+5*want.sigma/math.Sqrt(float64(n)) {
		return fmt.Errorf("mean %g, want %g (σ %g)", mean, want.mean, want.sigma)
	}
	if math.Abs(rms/want.sigma-1) > 0.2 {
		return fmt.Errorf("standard deviation %g, want %g", rms, want.sigma)
	}
	return nil
}

// BenchmarkGenerate measures generation alone (no disk) for a full-size
// layer mix; compare with BenchmarkBaselineZeroWrite, which streams the same
// bytes of zeros through the same writer.
func BenchmarkGenerate(b *testing.B) {
	m, err := Build(Options{Preset: "gpt-oss-20b", Layers: 2})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(m.Size)
	for b.Loop() {
		if err := m.WriteTo(io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselineZeroWrite(b *testing.B) {
	m, err := Build(Options{Preset: "gpt-oss-20b", Layers: 2})
	if err != nil {
		b.Fatal(err)
	}
	zero := make([]byte, chunkBytes)
	b.SetBytes(m.Size)
	for b.Loop() {
		gw, err := gguf.NewWriter(io.Discard, m.Metadata, m.Tensors)
		if err != nil {
			b.Fatal(err)
		}
		for i := range m.Tensors {
			t := &m.Tensors[i]
			gw.BeginTensor(t.Name)
			for left := int64(t.Size()); left > 0; {
				n := min(left, int64(len(zero)))
				gw.Write(zero[:n])
				left -= n
			}
			gw.EndTensor()
		}
		gw.Close()
	}
}

// TestFillerEveryType checks, for every type synth can write, that the
// dequantized values have the requested mean and σ and that block scales
// differ from block to block (a kernel that read the wrong block's scale
// must give a different answer).
func TestFillerEveryType(t *testing.T) {
	types := []gguf.Type{gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ8_0, gguf.TypeQ4_0,
		gguf.TypeQ5_0, gguf.TypeQ4_1, gguf.TypeQ5_1, gguf.TypeIQ4_NL, gguf.TypeQ2_K, gguf.TypeQ3_K,
		gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeMXFP4}
	for _, typ := range types {
		for _, sigma := range []float64{1, 0.02, 0.002} {
			spec := valueSpec{sigma: sigma}
			f, err := newFiller(typ, spec)
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			n := 256 * 256
			buf := make([]byte, n/typ.BlockSize()*typ.TypeSize())
			if err := f.fill(&rng{s: 1}, buf); err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			vals := make([]float32, n)
			if typ == gguf.TypeIQ4_NL { // not in quant: d·table[nibble], low nibbles first
				for b := 0; b < n/32; b++ {
					blk := buf[b*18 : (b+1)*18]
					d := quant.FP16ToFP32(binary.LittleEndian.Uint16(blk))
					for j := 0; j < 16; j++ {
						vals[b*32+j] = d * float32(iq4nlValues[blk[2+j]&15])
						vals[b*32+16+j] = d * float32(iq4nlValues[blk[2+j]>>4])
					}
				}
			} else if err := quant.Dequantize(typ, vals, buf); err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			var sum, sq float64
			for _, v := range vals {
				sum += float64(v)
				sq += float64(v) * float64(v)
			}
			mean, rms := sum/float64(n), math.Sqrt(sq/float64(n))
			if math.Abs(mean) > 0.05*sigma {
				t.Errorf("%s σ %g: mean %g", typ, sigma, mean)
			}
			if math.Abs(rms/sigma-1) > 0.1 {
				t.Errorf("%s σ %g: rms %g", typ, sigma, rms)
			}
			if typ.BlockSize() > 1 {
				// rms of the first and of the second 8 blocks: the levels differ.
				bs := typ.BlockSize()
				distinct := map[float64]bool{}
				for b := 0; b < 16; b++ {
					s := 0.0
					for _, v := range vals[b*bs : (b+1)*bs] {
						s += float64(v) * float64(v)
					}
					distinct[math.Round(math.Log2(s)*4)] = true
				}
				if len(distinct) < 3 {
					t.Errorf("%s: the first 16 blocks have %d scale levels", typ, len(distinct))
				}
			}
		}
	}
}

// TestWithVocab: a smaller vocabulary changes the two vocabulary-sized
// tensors and the tokenizer, keeps the special tokens in range at their
// distance from the end, and refuses sizes that cannot hold them.
func TestWithVocab(t *testing.T) {
	full, err := Build(Options{Preset: "gpt-oss-20b", Layers: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(Options{Preset: "gpt-oss-20b", Layers: 1, Vocab: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Tensors) != len(full.Tensors) {
		t.Fatalf("%d tensors, want %d", len(m.Tensors), len(full.Tensors))
	}
	for i, ti := range m.Tensors {
		want := fmt.Sprint(full.Tensors[i].Dims)
		if ti.Name == "output.weight" || ti.Name == "token_embd.weight" {
			want = "[2880 4096]"
		}
		if ti.Name != full.Tensors[i].Name || ti.Type != full.Tensors[i].Type || fmt.Sprint(ti.Dims) != want {
			t.Errorf("tensor %d: %s %s %v, want %s %s %s", i, ti.Name, ti.Type, ti.Dims, full.Tensors[i].Name, full.Tensors[i].Type, want)
		}
	}
	tok := m.Preset.Tok
	if tok.BOS != 199998-(201088-4096) || tok.EOS != 200002-(201088-4096) || tok.Real != 200019-(201088-4096) {
		t.Errorf("specials %+v", tok)
	}
	if v, ok := m.Metadata.Get("tokenizer.ggml.tokens"); !ok || v.Len() != 4096 {
		t.Errorf("tokenizer.ggml.tokens: %v", v)
	}
	for _, n := range []int{1000, -1, 201089} {
		if _, err := Build(Options{Preset: "gpt-oss-20b", Layers: 1, Vocab: n}); err == nil || !strings.Contains(err.Error(), "--vocab") {
			t.Errorf("--vocab %d: %v", n, err)
		}
	}
}
