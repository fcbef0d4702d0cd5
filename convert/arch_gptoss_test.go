package convert

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
	"github.com/gguftool/gguftool/quant"
)

// fp4 is the E2M1 code table (the MXFP4 element values before scaling).
var fp4 = [16]float32{0, 0.5, 1, 1.5, 2, 3, 4, 6, 0, -0.5, -1, -1.5, -2, -3, -4, -6}

// dequantHF decodes an HF MXFP4 pair (blocks [E, rows, g, 16], scales
// [E, rows, g]) into float32 [E, rows, g*32], straight from the HF layout
// (element 2i in the low nibble of byte i).
func dequantHF(blocks, scales []byte, E, rows, g int) []float32 {
	out := make([]float32, E*rows*g*32)
	for s := 0; s < E*rows*g; s++ {
		sc := float32(math.Ldexp(1, int(scales[s])-127))
		for k := 0; k < 32; k++ {
			b := blocks[s*16+k/2]
			code := b & 0xf
			if k%2 == 1 {
				code = b >> 4
			}
			out[s*32+k] = fp4[code] * sc
		}
	}
	return out
}

func bf16Bytes(xs []float32) []byte {
	b := make([]byte, 2*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint16(b[2*i:], f32ToBF16(x))
	}
	return b
}

// TestGptOssDenseLayout converts the gpt-oss fixture rewritten in the
// dense layout save_pretrained produces (gate_up_proj [E, H, 2I],
// down_proj [E, I, H], bf16; MXFP4 values are exact in bf16) and checks
// that every expert weight equals the dequantized MXFP4 tensor the MXFP4
// path writes (which matches llama.cpp's conversion byte for byte), and
// that every other tensor is identical.
func TestGptOssDenseLayout(t *testing.T) {
	const E, H, I = 8, 256, 256
	dir := copyFixtureDir(t, "gpt-oss")
	rewriteCheckpoint(t, dir, func(ts []stTensor) []stTensor {
		byName := map[string]stTensor{}
		for _, x := range ts {
			byName[x.name] = x
		}
		var out []stTensor
		for _, x := range ts {
			switch {
			case strings.HasSuffix(x.name, "gate_up_proj_blocks"):
				p := strings.TrimSuffix(x.name, "_blocks")
				w := dequantHF(x.data, byName[p+"_scales"].data, E, 2*I, H/32) // [E, 2I, H]
				d := make([]float32, len(w))                                   // [E, H, 2I]
				for e := 0; e < E; e++ {
					for r := 0; r < 2*I; r++ {
						for c := 0; c < H; c++ {
							d[(e*H+c)*2*I+r] = w[(e*2*I+r)*H+c]
						}
					}
				}
				out = append(out, stTensor{p, BF16, []int64{E, H, 2 * I}, bf16Bytes(d)})
			case strings.HasSuffix(x.name, "down_proj_blocks"):
				p := strings.TrimSuffix(x.name, "_blocks")
				w := dequantHF(x.data, byName[p+"_scales"].data, E, H, I/32) // [E, H, I]
				d := make([]float32, len(w))                                 // [E, I, H]
				for e := 0; e < E; e++ {
					for r := 0; r < H; r++ {
						for c := 0; c < I; c++ {
							d[(e*I+c)*H+r] = w[(e*H+r)*I+c]
						}
					}
				}
				out = append(out, stTensor{p, BF16, []int64{E, I, H}, bf16Bytes(d)})
			case strings.HasSuffix(x.name, "_scales"):
			default:
				out = append(out, x)
			}
		}
		return out
	})
	editJSON(t, filepath.Join(dir, "config.json"), func(m map[string]any) { delete(m, "quantization_config") })

	for _, ot := range []string{"f32", "bf16"} {
		ref := convertDir(t, filepath.Join(fixtureRoot, "gpt-oss"), ot)
		dense := convertDir(t, dir, ot)
		if ft, _ := dense.Metadata.Uint32("general.file_type"); ft != map[string]uint32{"f32": 0, "bf16": 32}[ot] {
			t.Errorf("%s: dense file_type %d", ot, ft)
		}
		if len(dense.Tensors) != len(ref.Tensors) {
			t.Fatalf("%s: %d tensors, MXFP4 conversion has %d", ot, len(dense.Tensors), len(ref.Tensors))
		}
		for i := range ref.Tensors {
			rt := &ref.Tensors[i]
			dt, ok := dense.Tensor(rt.Name)
			if !ok {
				t.Fatalf("%s: dense conversion lacks %s", ot, rt.Name)
			}
			if rt.Type != gguf.TypeMXFP4 {
				if rt.Type != dt.Type || !bytes.Equal(ref.Data(rt), dense.Data(dt)) {
					t.Errorf("%s: %s differs", ot, rt.Name)
				}
				continue
			}
			if dt.Type.String() != strings.ToUpper(ot) {
				t.Errorf("%s: %s is %s", ot, rt.Name, dt.Type)
			}
			if len(dt.Dims) != 3 || dt.Dims[0] != rt.Dims[0] || dt.Dims[1] != rt.Dims[1] || dt.Dims[2] != rt.Dims[2] {
				t.Fatalf("%s: %s ne %v, MXFP4 %v", ot, rt.Name, dt.Dims, rt.Dims)
			}
			want := make([]float32, rt.NumElements())
			if err := quant.Dequantize(gguf.TypeMXFP4, want, ref.Data(rt)); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, len(want))
			if err := quant.Dequantize(dt.Type, got, dense.Data(dt)); err != nil {
				t.Fatal(err)
			}
			for k := range want {
				if got[k] != want[k] {
					t.Fatalf("%s: %s element %d: dense %g, MXFP4 %g", ot, rt.Name, k, got[k], want[k])
				}
			}
		}
	}
}

// convertDir converts dir without the tokenizer keys into a temporary
// file and opens it.
func convertDir(t *testing.T, dir, outtype string) *gguf.File {
	t.Helper()
	p, err := NewPlan(dir, Options{OutType: outtype, SkipTokenizer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	path := filepath.Join(t.TempDir(), "out.gguf")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(context.Background(), f, 2, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	g, err := gguf.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}
