// Package ops launches gguftool's CUDA kernels (cuda/kernels) with typed,
// checked arguments. Every launcher has a float32 twin in cuda/cputwin with
// the same parameters; the GPU tests (build tag cuda) compare the two.
package ops

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gguftool/gguftool/cuda"
	"github.com/gguftool/gguftool/cuda/cputwin"
	"github.com/gguftool/gguftool/cuda/kernels"
)

// WeightType is the ggml type of a weight tensor (see cputwin).
type WeightType = cputwin.WeightType

// Kernels holds the loaded modules and their functions.
type Kernels struct {
	ctx     *cuda.Context
	modules []*cuda.Module
	fns     map[string]*cuda.Function
	prof    *profiler // set between StartProfile and StopProfile
	// attnTiled: AttentionTiledEnv was not "0" at load (attention_tiled.go).
	attnTiled bool

	// GemmMinTokens: MatMul batches of at least this many tokens run on the
	// tensor-core kernel (gemm.cu) where its layout needs are met; 0 never.
	// Load sets DefaultGemmMinTokens, or $GGUFTOOL_GEMM_MIN_TOKENS.
	GemmMinTokens int
	gemm          gemmConfig // block sizes and multiprocessors (gemm.go)
}

// PTXSource returns the PTX of a module; kernels.PTX is the embedded one.
type PTXSource func(module string) ([]byte, error)

// kernelNames lists the entry points of each module that ops uses.
func kernelNames() map[string][]string {
	m := map[string][]string{
		kernels.Norm:        {"rms_norm_f32", "layer_norm_f32"},
		kernels.Rope:        {"rope_f32"},
		kernels.Attention:   {"attention_f16", "kv_store_f16"},
		kernels.Router:      {"router_f32"},
		kernels.SwiGLU:      {"swiglu_f32"},
		kernels.Elementwise: {"add_f32", "scale_f32", "moe_sum_f32"},
	}
	for _, t := range cputwin.WeightTypes {
		m[kernels.Embed] = append(m[kernels.Embed], "get_rows_"+t.String())
		m[kernels.Matmul] = append(m[kernels.Matmul], "matmul_"+t.String(), "matmul_id_"+t.String())
		m[kernels.Gemm] = append(m[kernels.Gemm], "gemm_"+t.String(), "gemm8_"+t.String(), "gemm_grouped_"+t.String())
	}
	for mod, names := range extraKernelNames {
		m[mod] = append(m[mod], names()...)
	}
	return m
}

// extraKernelNames adds the entry points of modules whose launchers live in
// their own files (matvec.go).
var extraKernelNames = map[string]func() []string{}

// PTXDirEnv names an environment variable that, when set, makes Load read
// the PTX modules from that directory instead of the embedded copy (for
// testing freshly compiled kernels without rebuilding the binary).
const PTXDirEnv = "GGUFTOOL_PTX_DIR"

// Load loads the embedded kernels (or those in $GGUFTOOL_PTX_DIR) into ctx
// and lowers the context's per-thread stack to what they need (KernelStack).
func Load(ctx *cuda.Context) (*Kernels, error) {
	if err := setStack(ctx); err != nil {
		return nil, err
	}
	if dir := os.Getenv(PTXDirEnv); dir != "" {
		return LoadFrom(ctx, func(m string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, m+".ptx")) })
	}
	return LoadFrom(ctx, kernels.PTX)
}

// LoadFrom loads every module from src and resolves all kernel names, so a
// missing or misnamed kernel fails here rather than mid-run.
func LoadFrom(ctx *cuda.Context, src PTXSource) (*Kernels, error) {
	minTok, err := gemmMinTokensFromEnv()
	if err != nil {
		return nil, err
	}
	k := &Kernels{ctx: ctx, fns: map[string]*cuda.Function{}, GemmMinTokens: minTok, attnTiled: attentionTiledOn()}
	// Modules load in a fixed order, so a failure names the same module
	// every run.
	all := kernelNames()
	for _, mod := range slices.Sorted(maps.Keys(all)) {
		names := all[mod]
		ptx, err := src(mod)
		if err != nil {
			k.Close()
			return nil, err
		}
		m, err := ctx.LoadModule(ptx)
		if err != nil {
			k.Close()
			return nil, fmt.Errorf("loading kernel module %s: %w", mod, err)
		}
		k.modules = append(k.modules, m)
		if mod == kernels.Gemm {
			if k.gemm, err = newGemmConfig(ctx, ptx); err != nil {
				k.Close()
				return nil, err
			}
		}
		for _, n := range names {
			f, err := m.Function(n)
			if err != nil {
				k.Close()
				return nil, fmt.Errorf("kernel module %s: %w", mod, err)
			}
			k.fns[n] = f
		}
	}
	return k, nil
}

// Close unloads the modules.
func (k *Kernels) Close() error {
	var first error
	for _, m := range k.modules {
		if err := m.Unload(); err != nil && first == nil {
			first = err
		}
	}
	k.modules = nil
	return first
}

func (k *Kernels) launch(name string, s *cuda.Stream, grid, block cuda.Dim3, args ...any) error {
	f, ok := k.fns[name]
	if !ok {
		return fmt.Errorf("ops: kernel %s is not loaded", name)
	}
	if k.prof != nil {
		defer k.Mark(s, name)()
	}
	return f.Launch(s, grid, block, 0, args...)
}

func ceilDiv(a, b int) uint32 { return uint32((a + b - 1) / b) }

func positive(op string, vals ...int) error {
	for _, v := range vals {
		if v <= 0 {
			return fmt.Errorf("ops: %s: sizes must be positive, got %v", op, vals)
		}
	}
	return nil
}

// GetRows writes out[r][c] = table[ids[r]][c] for nRows rows of nCols
// columns, decoding a table of type t (rows rowBytes apart).
func (k *Kernels) GetRows(s *cuda.Stream, t WeightType, table cuda.DevicePtr, ids cuda.DevicePtr, out cuda.DevicePtr, nCols, nRows int) error {
	rb, err := cputwin.RowBytes(t, nCols)
	if err != nil {
		return fmt.Errorf("ops: get_rows: %w", err)
	}
	if err := positive("get_rows", nCols, nRows); err != nil {
		return err
	}
	return k.launch("get_rows_"+t.String(), s, cuda.Dim3{X: ceilDiv(nCols, 256), Y: uint32(nRows), Z: 1},
		cuda.Dim3{X: 256, Y: 1, Z: 1}, table, rb, ids, out, nCols, nRows)
}

// RMSNorm normalizes nRows rows of n floats (strides in floats); w may be 0.
func (k *Kernels) RMSNorm(s *cuda.Stream, x cuda.DevicePtr, xStride int, y cuda.DevicePtr, yStride int, w cuda.DevicePtr, n, nRows int, eps float32) error {
	if err := positive("rms_norm", n, nRows); err != nil {
		return err
	}
	return k.launch("rms_norm_f32", s, cuda.Dim3{X: uint32(nRows), Y: 1, Z: 1}, cuda.Dim3{X: 256, Y: 1, Z: 1},
		x, xStride, y, yStride, w, n, eps)
}

// LayerNorm is RMSNorm's mean-subtracting sibling with bias b (may be 0).
func (k *Kernels) LayerNorm(s *cuda.Stream, x cuda.DevicePtr, xStride int, y cuda.DevicePtr, yStride int, w, b cuda.DevicePtr, n, nRows int, eps float32) error {
	if err := positive("layer_norm", n, nRows); err != nil {
		return err
	}
	return k.launch("layer_norm_f32", s, cuda.Dim3{X: uint32(nRows), Y: 1, Z: 1}, cuda.Dim3{X: 256, Y: 1, Z: 1},
		x, xStride, y, yStride, w, b, n, eps)
}

// Rope rotates x in place; pos holds NTok int32 positions, invFreq NRot/2
// floats (cputwin.RopeFreqs, YaRNFreqs or LongRoPEFreqs).
func (k *Kernels) Rope(s *cuda.Stream, x cuda.DevicePtr, p cputwin.RopeParams, pos, invFreq cuda.DevicePtr) error {
	if err := positive("rope", p.NHead, p.NTok, p.NRot); err != nil {
		return err
	}
	if p.NRot%2 != 0 {
		return fmt.Errorf("ops: rope: odd number of rotated dims %d", p.NRot)
	}
	neox := 0
	if p.NeoX {
		neox = 1
	}
	return k.launch("rope_f32", s, cuda.Dim3{X: uint32(p.NHead), Y: uint32(p.NTok), Z: 1}, cuda.Dim3{X: 64, Y: 1, Z: 1},
		x, p.TokStride, p.HeadStride, p.NHead, p.NTok, p.RotOff, p.NRot, pos, invFreq, p.MScale, neox)
}

// Attention limits (attention.cu).
const (
	AttentionMaxDK = 1024
	AttentionMaxDV = 512
)

// Attention computes softmax(q·kᵀ·scale [+ sink])·v per head and query
// over a half-precision cache (kc, vc: rows of halves, position j in row
// j % p.Cells; Cells 0: Pos0+NTok, a cache that never wraps); sinks may be 0.
func (k *Kernels) Attention(s *cuda.Stream, p cputwin.AttentionParams, q, kc, vc, sinks, out cuda.DevicePtr) error {
	if err := positive("attention", p.NTok, p.NHead, p.NHeadKV, p.DK, p.DV); err != nil {
		return err
	}
	if p.DK > AttentionMaxDK || p.DV > AttentionMaxDV {
		return fmt.Errorf("ops: attention: head dims %d/%d exceed the kernel's %d/%d", p.DK, p.DV, AttentionMaxDK, AttentionMaxDV)
	}
	if p.NHead%p.NHeadKV != 0 {
		return fmt.Errorf("ops: attention: %d heads do not divide into %d kv heads", p.NHead, p.NHeadKV)
	}
	cells := p.CacheRows()
	// Once the ring wraps, the batch's own rows must not have overwritten a
	// key one of its queries sees: that needs window + NTok - 1 cells.
	if wrapped := p.Pos0+p.NTok > cells; wrapped && (p.Window <= 0 || cells < p.Window+p.NTok-1) {
		return fmt.Errorf("ops: attention: a ring of %d cells cannot hold positions %d..%d (window %d)", cells, p.Pos0, p.Pos0+p.NTok-1, p.Window)
	}
	name, grid, block := "attention_f16", cuda.Dim3{X: uint32(p.NHead), Y: uint32(p.NTok), Z: 1}, cuda.Dim3{X: 128, Y: 1, Z: 1}
	if k.attnTiled && attentionTiledFits(p, q, kc, vc) {
		name, grid, block = "attention_f16_tiled", cuda.Dim3{X: uint32(p.NHead), Y: ceilDiv(p.NTok, attTiledQ), Z: 1}, cuda.Dim3{X: attTiledThreads, Y: 1, Z: 1}
	}
	return k.launch(name, s, grid, block,
		q, p.QTokStride, p.QHeadStride, kc, p.KPosStride, p.KHeadStride, vc, p.VPosStride, p.VHeadStride,
		out, p.OTokStride, p.OHeadStride, sinks, p.NTok, p.NHead, p.NHeadKV, p.DK, p.DV, p.Pos0, p.Window, cells, p.Scale)
}

// KVStore rounds nTok rows of width floats (srcStride apart) to half and
// writes row t to cache row (pos0+t) % cells of dst (dstStride halves apart).
func (k *Kernels) KVStore(s *cuda.Stream, src cuda.DevicePtr, srcStride int, dst cuda.DevicePtr, dstStride, width, nTok, pos0, cells int) error {
	if err := positive("kv_store", width, nTok, cells); err != nil {
		return err
	}
	if pos0 < 0 || width > dstStride || width > srcStride {
		return fmt.Errorf("ops: kv_store: width %d, strides %d/%d, pos0 %d", width, srcStride, dstStride, pos0)
	}
	return k.launch("kv_store_f16", s, cuda.Dim3{X: ceilDiv(width, 256), Y: uint32(nTok), Z: 1}, cuda.Dim3{X: 256, Y: 1, Z: 1},
		src, srcStride, dst, dstStride, width, nTok, pos0, cells)
}

const (
	mmWarps  = 4 // MM_WARPS in matmul.cu
	mmTokens = 8 // MM_TOKENS
)

const (
	gemmRows   = 64 // GM_BM in gemm.cu
	gemmTokens = 64 // GM_BN
)

// DefaultGemmMinTokens is the smallest batch MatMul gives the tensor-core
// kernel: below it the CUDA-core kernel, which reads each weight row once
// per 8 tokens, is as fast (measured: docs/results/gemm-tensor-core.md).
const DefaultGemmMinTokens = 16

// GemmMinTokensEnv overrides DefaultGemmMinTokens (a number of tokens; 0
// turns the tensor-core kernel off), for measuring one against the other.
const GemmMinTokensEnv = "GGUFTOOL_GEMM_MIN_TOKENS"

func gemmMinTokensFromEnv() (int, error) {
	v := os.Getenv(GemmMinTokensEnv)
	if v == "" {
		return DefaultGemmMinTokens, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("ops: $%s = %q: want a number of tokens (0: off)", GemmMinTokensEnv, v)
	}
	return n, nil
}

// MatMul computes y[t][o] = W[o]·x[t] (+ bias[o]) for nTok rows of x
// (xStride floats apart) with W of type t, nOut rows of nIn; bias may be 0.
// Batches of GemmMinTokens or more run on tensor cores (TF32 operands,
// float32 sums: about 3e-4 relative error, see gemm.cu) when nIn is a
// multiple of 32 and w 16-byte aligned; the others on CUDA cores in float32.
func (k *Kernels) MatMul(s *cuda.Stream, t WeightType, w cuda.DevicePtr, x cuda.DevicePtr, xStride int, y cuda.DevicePtr, yStride int, bias cuda.DevicePtr, nIn, nOut, nTok int) error {
	rb, err := cputwin.RowBytes(t, nIn)
	if err != nil {
		return fmt.Errorf("ops: matmul: %w", err)
	}
	if err := positive("matmul", nIn, nOut, nTok); err != nil {
		return err
	}
	if k.GemmMinTokens > 0 && nTok >= k.GemmMinTokens && nIn%32 == 0 && w%16 == 0 {
		return k.gemmLaunch(s, t, w, rb, x, xStride, y, yStride, bias, nIn, nOut, nTok)
	}
	if nTok <= mvTokens && matvecFits(t, w, []int64{rb}, nIn, x, xStride) {
		name, grid, block := matvecKernel(t, nOut, nTok)
		return k.launch(name, s, grid, block, w, rb, x, xStride, y, yStride, bias, nIn, nOut, nTok)
	}
	return k.launch("matmul_"+t.String(), s, cuda.Dim3{X: ceilDiv(nOut, mmWarps), Y: ceilDiv(nTok, mmTokens), Z: 1},
		cuda.Dim3{X: 32 * mmWarps, Y: 1, Z: 1}, w, rb, x, xStride, y, yStride, bias, nIn, nOut, nTok)
}

// MatMulID is MatMul over a stack of matrices (experts, or MLA heads):
// pair p uses matrix ids[p] (int32 on the device), input row p/xDiv and
// output row p; bias (may be 0) holds biasStride floats per matrix.
func (k *Kernels) MatMulID(s *cuda.Stream, t WeightType, w cuda.DevicePtr, matrixBytes int64, ids cuda.DevicePtr, x cuda.DevicePtr, xStride, xDiv int, y cuda.DevicePtr, yStride int, bias cuda.DevicePtr, biasStride, nIn, nOut, nPairs int) error {
	rb, err := cputwin.RowBytes(t, nIn)
	if err != nil {
		return fmt.Errorf("ops: matmul_id: %w", err)
	}
	if err := positive("matmul_id", nIn, nOut, nPairs, xDiv); err != nil {
		return err
	}
	if matvecFits(t, w, []int64{rb, matrixBytes}, nIn, x, xStride) {
		name, grid, block := matvecIDKernel(t, nOut, nPairs)
		return k.launch(name, s, grid, block, w, rb, matrixBytes, ids, x, xStride, xDiv, y, yStride, bias, biasStride, nIn, nOut, nPairs)
	}
	return k.launch("matmul_id_"+t.String(), s, cuda.Dim3{X: ceilDiv(nOut, mmWarps), Y: uint32(nPairs), Z: 1},
		cuda.Dim3{X: 32 * mmWarps, Y: 1, Z: 1}, w, rb, matrixBytes, ids, x, xStride, xDiv, y, yStride, bias, biasStride, nIn, nOut, nPairs)
}

// RouterMaxExperts is ROUTER_MAX_EXPERTS of router.cu.
const RouterMaxExperts = 512

// Router turns nTok rows of NExp logits into K int32 ids and K float
// weights per token.
func (k *Kernels) Router(s *cuda.Stream, logits cuda.DevicePtr, p cputwin.RouterParams, ids, weights cuda.DevicePtr, nTok int) error {
	if err := positive("router", p.NExp, p.K, nTok); err != nil {
		return err
	}
	if p.NExp > RouterMaxExperts || p.K > p.NExp {
		return fmt.Errorf("ops: router: %d experts (max %d), k = %d", p.NExp, RouterMaxExperts, p.K)
	}
	if p.Mode == cputwin.SparseMixer && p.K != 2 {
		return fmt.Errorf("ops: router: sparsemixer needs k = 2, got %d", p.K)
	}
	norm := 0
	if p.Norm {
		norm = 1
	}
	return k.launch("router_f32", s, cuda.Dim3{X: ceilDiv(nTok, 64), Y: 1, Z: 1}, cuda.Dim3{X: 64, Y: 1, Z: 1},
		logits, p.NExp, p.K, int32(p.Mode), norm, p.Scale, p.Eps, ids, weights, nTok)
}

// GLU computes the gated activation of nRows rows of n values (strides in
// floats); alpha and limit are used by SwiGLUOAI.
func (k *Kernels) GLU(s *cuda.Stream, mode cputwin.GLUMode, g cuda.DevicePtr, gStride int, u cuda.DevicePtr, uStride int, y cuda.DevicePtr, yStride int, n, nRows int, alpha, limit float32) error {
	if err := positive("swiglu", n, nRows); err != nil {
		return err
	}
	return k.launch("swiglu_f32", s, cuda.Dim3{X: ceilDiv(n, 256), Y: uint32(nRows), Z: 1}, cuda.Dim3{X: 256, Y: 1, Z: 1},
		g, gStride, u, uStride, y, yStride, n, nRows, int32(mode), alpha, limit)
}

func gridFor(n int) cuda.Dim3 { return cuda.Dim3{X: min(ceilDiv(n, 256), 65535), Y: 1, Z: 1} }

// Add writes y = a + b, b repeating every nb elements (nb = n: element-wise).
func (k *Kernels) Add(s *cuda.Stream, a, b, y cuda.DevicePtr, n, nb int) error {
	if err := positive("add", n, nb); err != nil {
		return err
	}
	return k.launch("add_f32", s, gridFor(n), cuda.Dim3{X: 256, Y: 1, Z: 1}, a, b, y, n, nb)
}

// Scale writes y = a·f.
func (k *Kernels) Scale(s *cuda.Stream, a, y cuda.DevicePtr, n int, f float32) error {
	if err := positive("scale", n); err != nil {
		return err
	}
	return k.launch("scale_f32", s, gridFor(n), cuda.Dim3{X: 256, Y: 1, Z: 1}, a, y, n, f)
}

// MoESum writes out[t] (+)= Σ_s w[t·k+s]·ys[t·k+s] over rows of n floats.
func (k *Kernels) MoESum(s *cuda.Stream, ys, w, out cuda.DevicePtr, n, kk, nTok int, accumulate bool) error {
	if err := positive("moe_sum", n, kk, nTok); err != nil {
		return err
	}
	acc := 0
	if accumulate {
		acc = 1
	}
	return k.launch("moe_sum_f32", s, cuda.Dim3{X: ceilDiv(n, 256), Y: uint32(nTok), Z: 1}, cuda.Dim3{X: 256, Y: 1, Z: 1},
		ys, w, out, n, kk, nTok, acc)
}
