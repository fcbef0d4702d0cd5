package convert

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// A Phi-3.5-MoE-shaped checkpoint at the real widths (hidden 4096, expert
// width 6400, 16 experts, 32 heads, 8 KV heads, vocab 32064) with as many
// layers as asked: about 2.6 GB of bf16 per layer. The benchmark converts
// it to bf16 and q8_0 and compares with a plain copy of the same bytes on
// the same disk. It is opt-in (several GB of disk):
//
//	GGUFTOOL_BENCH_DIR=/some/dir GGUFTOOL_BENCH_LAYERS=2 go test -run XXX -bench ConvertPhiMoEShaped ./convert
//
// GGUFTOOL_GEN_DIR=/dir GGUFTOOL_BENCH_LAYERS=n go test -run TestGeneratePhiMoEShaped
// only writes the checkpoint (to measure the command's peak RSS with
// /usr/bin/time -v gguftool convert /dir ...).
//
// Measured 2026-11-27 on a 16-core machine, 4 layers (10.93 GB): cat+sync
// of the shards 11.6 s (0.94 GB/s); gguftool convert bf16 7.5 s (1.46 GB/s),
// peak RSS 67 MiB; q8_0 7.1 s (1.54 GB/s read), 118 MiB. With 1 layer the
// peak RSS was the same (65 and 113 MiB).

const (
	phiHidden, phiFF, phiExperts, phiHeads, phiKV, phiVocab = 4096, 6400, 16, 32, 8, 32064
)

func benchLayers(tb testing.TB) int {
	n, err := strconv.Atoi(os.Getenv("GGUFTOOL_BENCH_LAYERS"))
	if err != nil || n <= 0 {
		return 1
	}
	return n
}

// streamSafetensors writes a safetensors file whose tensors are produced
// one at a time (random bf16 data), so generating a big checkpoint takes
// no memory.
func streamSafetensors(path string, names []string, shapes [][]int64, seed uint64) error {
	type entry struct {
		DType   string  `json:"dtype"`
		Shape   []int64 `json:"shape"`
		Offsets []int64 `json:"data_offsets"`
	}
	hdr := map[string]any{}
	var off int64
	for i, n := range names {
		size := int64(2)
		for _, d := range shapes[i] {
			size *= d
		}
		hdr[n] = entry{"BF16", shapes[i], []int64{off, off + size}}
		off += size
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := binary.Write(f, binary.LittleEndian, uint64(len(h))); err != nil {
		return err
	}
	if _, err := f.Write(h); err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(seed, 7))
	buf := make([]byte, 1<<20)
	// Data follow the header order of offsets, i.e. the names order.
	for i := range names {
		size := int64(2)
		for _, d := range shapes[i] {
			size *= d
		}
		for size > 0 {
			n := min(int64(len(buf)), size)
			for k := int64(0); k < n; k += 8 {
				v := r.Uint64()
				// bf16 values of magnitude ~0.01..1 with random signs: exponent
				// bits 0x3c..0x3f keep them finite and normal.
				v = v&0x807f807f807f807f | 0x3c003c003c003c00 | (v>>2)&0x0380038003800380
				binary.LittleEndian.PutUint64(buf[k:], v)
			}
			if _, err := f.Write(buf[:n]); err != nil {
				return err
			}
			size -= n
		}
	}
	return f.Sync()
}

// writePhiMoEShaped writes config, tokenizer files (the fixture's) and one
// shard per layer plus one for the embeddings.
func writePhiMoEShaped(dir string, layers int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	long := make([]float64, phiHidden/phiHeads/2)
	short := make([]float64, len(long))
	for i := range long {
		long[i] = 1 + float64(i)*0.5
		short[i] = 1 + float64(i)*0.001
	}
	cfg := map[string]any{
		"architectures": []string{"PhiMoEForCausalLM"}, "model_type": "phimoe",
		"hidden_size": phiHidden, "intermediate_size": phiFF, "num_local_experts": phiExperts,
		"num_experts_per_tok": 2, "num_attention_heads": phiHeads, "num_key_value_heads": phiKV,
		"num_hidden_layers": layers, "vocab_size": phiVocab, "max_position_embeddings": 131072,
		"original_max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
		"sliding_window": 131072, "attention_bias": true, "lm_head_bias": true, "bos_token_id": 1, "eos_token_id": 32000,
		"rope_scaling": map[string]any{"type": "longrope", "long_factor": long, "short_factor": short,
			"original_max_position_embeddings": 4096},
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		return err
	}
	for _, f := range []string{"tokenizer.model", "tokenizer_config.json", "added_tokens.json", "special_tokens_map.json", "tokenizer.json"} {
		b, err := os.ReadFile(filepath.Join(fixtureRoot, "phimoe", f))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			return err
		}
	}
	weightMap := map[string]string{}
	shard := func(file string, names []string, shapes [][]int64, seed uint64) error {
		for _, n := range names {
			weightMap[n] = file
		}
		return streamSafetensors(filepath.Join(dir, file), names, shapes, seed)
	}
	H, F, E, kv := int64(phiHidden), int64(phiFF), phiExperts, int64(phiHidden/phiHeads*phiKV)
	if err := shard("model-embed.safetensors",
		[]string{"model.embed_tokens.weight", "lm_head.weight", "lm_head.bias", "model.norm.weight", "model.norm.bias"},
		[][]int64{{phiVocab, H}, {phiVocab, H}, {phiVocab}, {H}, {H}}, 1); err != nil {
		return err
	}
	for l := 0; l < layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		var names []string
		var shapes [][]int64
		add := func(n string, s ...int64) { names = append(names, p+n); shapes = append(shapes, s) }
		for e := 0; e < E; e++ {
			add(fmt.Sprintf("block_sparse_moe.experts.%d.w1.weight", e), F, H)
			add(fmt.Sprintf("block_sparse_moe.experts.%d.w2.weight", e), H, F)
			add(fmt.Sprintf("block_sparse_moe.experts.%d.w3.weight", e), F, H)
		}
		add("block_sparse_moe.gate.weight", int64(E), H)
		for _, n := range []string{"input_layernorm", "post_attention_layernorm"} {
			add(n+".weight", H)
			add(n+".bias", H)
		}
		add("self_attn.q_proj.weight", H, H)
		add("self_attn.q_proj.bias", H)
		add("self_attn.k_proj.weight", kv, H)
		add("self_attn.k_proj.bias", kv)
		add("self_attn.v_proj.weight", kv, H)
		add("self_attn.v_proj.bias", kv)
		add("self_attn.o_proj.weight", H, H)
		add("self_attn.o_proj.bias", H)
		if err := shard(fmt.Sprintf("model-layer%03d.safetensors", l), names, shapes, uint64(l+2)); err != nil {
			return err
		}
	}
	b, _ = json.MarshalIndent(map[string]any{"weight_map": weightMap}, "", "  ")
	return os.WriteFile(filepath.Join(dir, IndexFile), b, 0o644)
}

func TestGeneratePhiMoEShaped(t *testing.T) {
	dir := os.Getenv("GGUFTOOL_GEN_DIR")
	if dir == "" {
		t.Skip("set GGUFTOOL_GEN_DIR (and GGUFTOOL_BENCH_LAYERS) to write a Phi-3.5-MoE-shaped checkpoint")
	}
	if err := writePhiMoEShaped(dir, benchLayers(t)); err != nil {
		t.Fatal(err)
	}
}

// copyFiles copies the checkpoint's shards into one file in out and syncs
// it: the disk's speed for the same bytes.
func copyFiles(dir, out string) (int64, error) {
	c, err := OpenCheckpoint(dir)
	if err != nil {
		return 0, err
	}
	var paths []string
	for _, f := range c.Files {
		paths = append(paths, f.Path)
	}
	c.Close()
	w, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	defer w.Close()
	var total int64
	buf := make([]byte, 1<<20)
	for _, p := range paths {
		r, err := os.Open(p)
		if err != nil {
			return 0, err
		}
		n, err := io.CopyBuffer(w, r, buf)
		r.Close()
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, w.Sync()
}

func BenchmarkConvertPhiMoEShaped(b *testing.B) {
	root := os.Getenv("GGUFTOOL_BENCH_DIR")
	if root == "" {
		b.Skip("set GGUFTOOL_BENCH_DIR (several GB of free disk) and GGUFTOOL_BENCH_LAYERS")
	}
	dir := filepath.Join(root, fmt.Sprintf("phimoe-shaped-%dL", benchLayers(b)))
	if _, err := os.Stat(filepath.Join(dir, IndexFile)); err != nil {
		if err := writePhiMoEShaped(dir, benchLayers(b)); err != nil {
			b.Fatal(err)
		}
	}
	out := filepath.Join(root, "bench-out")
	defer os.Remove(out)
	b.Run("copy", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			start := time.Now()
			n, err := copyFiles(dir, out)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(n)
			b.ReportMetric(float64(n)/time.Since(start).Seconds()/1e9, "GB/s")
		}
	})
	for _, ot := range []string{"bf16", "q8_0"} {
		b.Run(ot, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				start := time.Now()
				p, err := NewPlan(dir, Options{OutType: ot})
				if err != nil {
					b.Fatal(err)
				}
				f, err := os.Create(out)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Write(context.Background(), f, 0, nil); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				f.Close()
				p.Close()
				st, _ := os.Stat(out)
				b.SetBytes(st.Size())
				b.ReportMetric(float64(st.Size())/time.Since(start).Seconds()/1e9, "GB/s")
			}
		})
	}
}
