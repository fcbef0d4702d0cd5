package ops

import (
	"os"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/cuda/kernels"
)

// attention_tiled.cu: prefill attention for 64-wide heads with the keys and
// values of a tile shared by 64 queries (gpt-oss). On an H100, pp512 of
// gpt-oss-20b with experts in CPU memory: 1,764 → 2,034 tok/s with the
// expert prefetch (bench, same call); TestAttentionTiledGPU checks it
// against the twin.

// AttentionTiledEnv set to "0" when the kernels load keeps every Attention
// batch on attention_f16; otherwise batches that fit (64-wide heads, at
// least attTiledMinTokens queries, aligned operands) go to
// attention_f16_tiled.
const AttentionTiledEnv = "GGUFTOOL_ATTN_TILED"

const (
	attTiledD         = 64 // ATT_T_D
	attTiledQ         = 64 // ATT_T_Q: queries per block
	attTiledThreads   = 128
	attTiledMinTokens = 16
)

func init() {
	extraKernelNames[kernels.AttentionTiled] = func() []string { return []string{"attention_f16_tiled"} }
}

func attentionTiledOn() bool { return os.Getenv(AttentionTiledEnv) != "0" }

// attentionTiledFits reports whether attention_f16_tiled takes the batch:
// its 16-byte query loads and 4-byte half-pair cache loads need aligned
// rows, and it is written for dk = dv = 64.
func attentionTiledFits(p cputwin.AttentionParams, q, kc, vc cuda.DevicePtr) bool {
	return p.DK == attTiledD && p.DV == attTiledD && p.NTok >= attTiledMinTokens &&
		q%16 == 0 && p.QTokStride%4 == 0 && p.QHeadStride%4 == 0 &&
		kc%4 == 0 && vc%4 == 0 && p.KPosStride%2 == 0 && p.KHeadStride%2 == 0 && p.VPosStride%2 == 0 && p.VHeadStride%2 == 0
}

// emulateAttentionTiled registers the fake driver's twin (attention_f16's).
func emulateAttentionTiled(f *cuda.Fake) { f.Kernels["attention_f16_tiled"] = emulateAttention }
