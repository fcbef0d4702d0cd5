package gpu

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gguftool/gguftool/gguf"
)

// TestDeepSeek2QLoRAExecutor covers the full DeepSeek-V2 query path
// (attn_q_a → RMSNorm → attn_q_b), which no fixture has: the
// deepseek-v2-lite fixture's attn_q is replaced by random q_a, q_a_norm and
// q_b factors (q_lora_rank 48) and the executor is compared with the CPU
// runtime on that file under every mode.
func TestDeepSeek2QLoRAExecutor(t *testing.T) {
	checkExecutorFile(t, qloraFile(t), "deepseek2 q_lora", mixedPlacement(1, 2))
}

// qloraFile is the deepseek-v2-lite fixture with attn_q factored into
// random q_a, q_a_norm and q_b (q_lora_rank 48).
func qloraFile(t *testing.T) *gguf.File {
	t.Helper()
	src := convertFixture(t, "deepseek-v2-lite", "f32")
	const qr = 48
	md := src.Metadata.Clone()
	md.Set("deepseek2.attention.q_lora_rank", gguf.Uint32(qr))
	rng := rand.New(rand.NewPCG(7, 9))
	random := func(n int, center, spread float64) []byte {
		b := make([]byte, 4*n)
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(center+spread*(2*rng.Float64()-1))))
		}
		return b
	}
	var infos []gguf.TensorInfo
	data := map[string][]byte{}
	for i := range src.Tensors {
		ti := src.Tensors[i]
		if !strings.HasSuffix(ti.Name, ".attn_q.weight") {
			infos = append(infos, gguf.TensorInfo{Name: ti.Name, Type: ti.Type, Dims: ti.Dims})
			data[ti.Name] = src.Data(&ti)
			continue
		}
		p := strings.TrimSuffix(ti.Name, "attn_q.weight")
		d, out := int(ti.Dims[0]), int(ti.Dims[1])
		for _, n := range []struct {
			name string
			dims []uint64
			data []byte
		}{
			{p + "attn_q_a.weight", []uint64{uint64(d), qr}, random(d*qr, 0, 0.1)},
			{p + "attn_q_a_norm.weight", []uint64{qr}, random(qr, 1, 0.2)},
			{p + "attn_q_b.weight", []uint64{qr, uint64(out)}, random(qr*out, 0, 0.2)},
		} {
			infos = append(infos, gguf.TensorInfo{Name: n.name, Type: gguf.TypeF32, Dims: n.dims})
			data[n.name] = n.data
		}
	}
	path := filepath.Join(t.TempDir(), "deepseek2-qlora.gguf")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := gguf.NewWriter(out, md, infos)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range infos {
		if err := w.WriteTensorBytes(ti.Name, data[ti.Name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
