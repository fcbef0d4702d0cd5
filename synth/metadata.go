package synth

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gguftool/gguftool/gguf"
)

// metadata builds the key/value section in the converter's order
// (conversion.md §1.2, §3.1, §4.1, §5.1, §6.2, §7).
func (p Preset) metadata(fileType uint32, sizeLabel string) *gguf.Metadata {
	m := gguf.NewMetadata()
	a := p.Arch + "."
	u32 := func(k string, v int) { m.Set(k, gguf.Uint32(uint32(v))) }
	f32 := func(k string, v float32) { m.Set(k, gguf.Float32(v)) }
	str := func(k, v string) { m.Set(k, gguf.String(v)) }

	str(gguf.KeyArchitecture, p.Arch)
	if p.Arch == "phimoe" {
		// Set while the rope factor tensors are generated, before general.*.
		s := float64(p.CtxTrain) / 4096
		af := 1.0
		if s > 1 {
			af = math.Sqrt(1 + math.Log(s)/math.Log(4096))
		}
		f32(a+"rope.scaling.attn_factor", float32(af))
	}
	str("general.type", "model")
	if p.GeneralName != "" {
		str("general.name", p.GeneralName)
	}
	if p.Finetune != "" {
		str("general.finetune", p.Finetune)
	}
	if p.Basename != "" {
		str("general.basename", p.Basename)
	}
	str("general.size_label", sizeLabel)

	switch p.Arch {
	case "gpt-oss":
		u32(a+"block_count", p.Layers)
		u32(a+"context_length", p.CtxTrain)
		u32(a+"embedding_length", p.Embd)
		u32(a+"feed_forward_length", p.FF)
		u32(a+"attention.head_count", p.Heads)
		u32(a+"attention.head_count_kv", p.HeadsKV)
		str(a+"rope.scaling.type", "yarn")
		f32(a+"rope.scaling.factor", 32)
		u32(a+"rope.scaling.original_context_length", 4096)
		f32(a+"rope.scaling.yarn_beta_fast", 32)
		f32(a+"rope.scaling.yarn_beta_slow", 1)
		f32(a+"rope.freq_base", p.RopeBase)
		f32(a+"attention.layer_norm_rms_epsilon", p.RMSEps)
		u32(a+"expert_count", p.Experts)
		u32(a+"expert_used_count", p.ExpertsUsed)
		u32(a+"attention.key_length", p.HeadDim)
		u32(a+"attention.value_length", p.HeadDim)
		u32(gguf.KeyFileType, int(fileType))
		u32(a+"attention.sliding_window", p.SWA)
		u32(a+"expert_feed_forward_length", p.ExpertFF)
	case "phimoe":
		u32(a+"context_length", p.CtxTrain)
		u32(a+"rope.scaling.original_context_length", 4096)
		u32(a+"embedding_length", p.Embd)
		u32(a+"feed_forward_length", p.FF)
		u32(a+"block_count", p.Layers)
		u32(a+"attention.head_count", p.Heads)
		u32(a+"attention.head_count_kv", p.HeadsKV)
		f32(a+"attention.layer_norm_rms_epsilon", p.RMSEps)
		u32(a+"rope.dimension_count", p.RopeDim)
		f32(a+"rope.freq_base", p.RopeBase)
		u32(gguf.KeyFileType, int(fileType))
		u32(a+"attention.sliding_window", p.SWA)
		u32(a+"expert_used_count", p.ExpertsUsed)
		u32(a+"expert_count", p.Experts)
	case "deepseek":
		u32(a+"block_count", p.Layers)
		u32(a+"context_length", p.CtxTrain)
		u32(a+"embedding_length", p.Embd)
		u32(a+"feed_forward_length", p.FF)
		u32(a+"attention.head_count", p.Heads)
		u32(a+"attention.head_count_kv", p.HeadsKV)
		f32(a+"rope.freq_base", p.RopeBase)
		f32(a+"attention.layer_norm_rms_epsilon", p.RMSEps)
		u32(a+"expert_count", p.Experts)
		u32(a+"expert_used_count", p.ExpertsUsed)
		u32(a+"expert_gating_func", 1)
		u32(gguf.KeyFileType, int(fileType))
		u32(a+"rope.dimension_count", p.RopeDim)
		str(a+"rope.scaling.type", "none")
		u32(a+"leading_dense_block_count", p.LeadingDense)
		u32(a+"vocab_size", p.Vocab)
		u32(a+"expert_feed_forward_length", p.ExpertFF)
		f32(a+"expert_weights_scale", 1)
		u32(a+"expert_shared_count", p.Shared)
	case "deepseek2":
		u32(a+"block_count", p.Layers)
		u32(a+"context_length", p.CtxTrain)
		u32(a+"embedding_length", p.Embd)
		u32(a+"feed_forward_length", p.FF)
		u32(a+"attention.head_count", p.Heads)
		u32(a+"attention.head_count_kv", 1)
		str(a+"rope.scaling.type", "yarn")
		f32(a+"rope.scaling.factor", 40)
		u32(a+"rope.scaling.original_context_length", 4096)
		f32(a+"rope.scaling.yarn_beta_fast", 32)
		f32(a+"rope.scaling.yarn_beta_slow", 1)
		f32(a+"rope.freq_base", p.RopeBase)
		f32(a+"attention.layer_norm_rms_epsilon", p.RMSEps)
		u32(a+"expert_count", p.Experts)
		u32(a+"expert_used_count", p.ExpertsUsed)
		u32(a+"expert_group_count", 1)
		u32(a+"expert_group_used_count", 1)
		u32(a+"expert_gating_func", 1)
		u32(a+"attention.key_length", p.KVLoraRank+p.QKRope)
		u32(a+"attention.value_length", p.KVLoraRank)
		u32(gguf.KeyFileType, int(fileType))
		u32(a+"leading_dense_block_count", p.LeadingDense)
		u32(a+"vocab_size", p.Vocab)
		u32(a+"attention.kv_lora_rank", p.KVLoraRank)
		u32(a+"attention.key_length_mla", p.QKNope+p.QKRope)
		u32(a+"attention.value_length_mla", p.VHead)
		u32(a+"expert_feed_forward_length", p.ExpertFF)
		u32(a+"expert_shared_count", p.Shared)
		f32(a+"expert_weights_scale", 1)
		u32(a+"rope.dimension_count", p.QKRope)
		f32(a+"rope.scaling.yarn_log_multiplier", float32(0.1*0.707))
	}
	u32(gguf.KeyQuantizationVersion, 2)
	p.Tok.write(m, p.Vocab)
	return m
}

// write adds the tokenizer.* keys with a synthetic vocabulary of n tokens.
func (tk Tokenizer) write(m *gguf.Metadata, n int) {
	m.Set("tokenizer.ggml.model", gguf.String(tk.Model))
	m.Set("tokenizer.ggml.pre", gguf.String(tk.Pre))
	tokens := make([]string, n)
	types := make([]int32, n)
	if tk.Model == "llama" {
		scores := make([]float32, n)
		for i := range n {
			switch {
			case i < 3:
				tokens[i], types[i], scores[i] = []string{"<unk>", "<s>", "</s>"}[i], 3, -1000
			case i < 3+256:
				tokens[i], types[i] = fmt.Sprintf("<0x%02X>", i-3), 6
			case i >= tk.Real:
				tokens[i], types[i], scores[i] = fmt.Sprintf("[PAD%d]", i), 5, -10000
			case i >= tk.ControlFrom:
				tokens[i], types[i], scores[i] = fmt.Sprintf("<|special_%d|>", i), 3, -1000
			default:
				tokens[i], types[i], scores[i] = "▁t"+strconv.Itoa(i), 1, -float32(i)
			}
		}
		m.Set("tokenizer.ggml.tokens", gguf.Array(tokens))
		m.Set("tokenizer.ggml.scores", gguf.Array(scores))
		m.Set("tokenizer.ggml.token_type", gguf.Array(types))
	} else {
		sym := byteSymbols()
		var merges []string
		var pairs []string // two-symbol tokens, reused to build longer ones
		for i := range n {
			switch {
			case i < 256:
				tokens[i], types[i] = sym[i], 1
			case i >= tk.Real:
				tokens[i], types[i] = fmt.Sprintf("[PAD%d]", i), 5
			case i >= tk.ControlFrom:
				tokens[i], types[i] = fmt.Sprintf("<|special_%d|>", i), 3
			default:
				// Merged tokens: every pair of byte symbols, then pairs
				// extended by one symbol; each comes with its merge rule.
				j := i - 256
				var left, right string
				if j < 256*256 {
					left, right = sym[j/256], sym[j%256]
					pairs = append(pairs, left+right)
				} else {
					j -= 256 * 256
					left, right = pairs[(j/256)%len(pairs)], sym[j%256]
				}
				tokens[i], types[i] = left+right, 1
				merges = append(merges, left+" "+right)
			}
		}
		if len(merges) == 0 {
			merges = []string{sym[0] + " " + sym[1]} // llama.cpp wants at least one
		}
		m.Set("tokenizer.ggml.tokens", gguf.Array(tokens))
		m.Set("tokenizer.ggml.token_type", gguf.Array(types))
		m.Set("tokenizer.ggml.merges", gguf.Array(merges))
	}
	m.Set("tokenizer.ggml.bos_token_id", gguf.Uint32(uint32(tk.BOS)))
	m.Set("tokenizer.ggml.eos_token_id", gguf.Uint32(uint32(tk.EOS)))
	if tk.Unk >= 0 {
		m.Set("tokenizer.ggml.unknown_token_id", gguf.Uint32(uint32(tk.Unk)))
	}
	if tk.Pad >= 0 {
		m.Set("tokenizer.ggml.padding_token_id", gguf.Uint32(uint32(tk.Pad)))
	}
	for _, f := range tk.AddFlags {
		m.Set("tokenizer.ggml.add_"+f.Name+"_token", gguf.Bool(f.Value))
	}
	m.Set("tokenizer.chat_template", gguf.String(
		"{%- for message in messages -%}<|start|>{{ message['role'] }}<|message|>{{ message['content'] }}<|end|>{%- endfor -%}"))
}

// byteSymbols is GPT-2's byte-to-unicode table in id order: the printable
// bytes first, then the others mapped to U+0100 and up.
func byteSymbols() []string {
	var out []string
	seen := [256]bool{}
	for _, r := range [][2]int{{'!', '~'}, {0xA1, 0xAC}, {0xAE, 0xFF}} {
		for b := r[0]; b <= r[1]; b++ {
			out = append(out, string(rune(b)))
			seen[b] = true
		}
	}
	n := 0
	for b := range 256 {
		if !seen[b] {
			out = append(out, string(rune(256+n)))
			n++
		}
	}
	return out
}

// sizeLabel computes general.size_label as gguf-py does when the name has
// none (conversion.md §1.6): "{E}x{params per expert path}".
func sizeLabel(tensors []gguf.TensorInfo, nExpert int) string {
	var shared, expert uint64
	for i := range tensors {
		t := &tensors[i]
		if strings.Contains(t.Name, "_exps.") && len(t.Dims) >= 3 {
			expert += t.NumElements() / t.Dims[len(t.Dims)-1]
		} else {
			shared += t.NumElements()
		}
	}
	if expert == 0 {
		return formatParams(float64(shared))
	}
	return fmt.Sprintf("%dx%s", nExpert, formatParams(float64(shared+expert)))
}

func formatParams(n float64) string {
	unit := ""
	for _, u := range []struct {
		s string
		v float64
	}{{"T", 1e12}, {"B", 1e9}, {"M", 1e6}, {"K", 1e3}} {
		if n > u.v {
			n, unit = n/u.v, u.s
			break
		}
	}
	dec := 2 - len(strings.TrimLeft(strconv.FormatFloat(math.RoundToEven(n), 'f', 0, 64), "0"))
	if dec < 0 {
		dec = 0
	}
	return strconv.FormatFloat(n, 'f', dec, 64) + unit
}
