// Tiled tensor-core matrix products for token batches (prefill):
// y[t, o] = sum_i W[o, i] * x[t, i] (+ bias[o]), the same function and
// arguments as matmul_<type> (matmul.cu), which stays the kernel for small
// batches (decode), where reading the weights once is all that matters.
//
// A block computes a GM_BM x GM_BN tile (weight rows x tokens). Per step of
// GM_BK = 64 inputs, 32-weight units of the tile's weight rows are decoded
// with the unit decoders of common.cuh (so each weight is decoded once per
// 64 tokens, not once per 8) and the tokens' activations loaded; both go to
// shared memory rounded to TF32, and the warps multiply them with mma.sync
// m16n8k8 (TF32 in, float32 accumulate). The next step's weights and
// activations are fetched into registers while the tensor cores work on
// the current one. Two block shapes (template WARPS):
//   gemm_T, gemm_grouped_T (4 warps, 128 threads): each warp a 32 x 32
//     sub-tile; every thread decodes one unit and loads 32 activations.
//   gemm8_T (8 warps, 256 threads): each warp 32 x 16; warps 0-3 decode
//     while warps 4-7 load activations, half the work per thread on the
//     critical path. Faster when the grid is too small to put several
//     blocks on every multiprocessor (one expert's 64 tokens: 45 blocks),
//     slower on big grids (docs/results/gemm-tensor-core-2026-11-27-h200.md).
// Each output is summed in the same order by either shape: same bits.
//
// Why TF32 and not f16/bf16: TF32 keeps float32's exponent range, so large
// gpt-oss activations cannot overflow (f16 would at 65504) and MXFP4's E8M0
// scales (2^-127..2^127) need no rescaling; its 10 mantissa bits hold F16,
// BF16 and MXFP4 weights exactly, so the only rounding is of activations and
// of scaled integer codes (Q8_0, K-quants) at 2^-11 — about 3e-4 relative
// error on a product, 5-10x less than bf16 operands, which keeps greedy
// tokens agreeing with the CPU runtime. TF32 runs at half the bf16 tensor
// rate, which these products (decode- and memory-bound) do not reach.
//
// Requirements (checked by the launcher, which otherwise uses matmul_<type>):
// n_in a multiple of 32 and W 16-byte aligned, as the unit decoders need.
// Activations may have any stride and alignment.
#include "common.cuh"

#define GM_BM 64  // weight rows per block
#define GM_BN 64  // tokens per block
#define GM_BK 64  // inputs per step: two 32-element units per row
#define GM_LD 68  // shared row stride in words: conflict-free stores and fragment reads

// to_tf32 rounds to nearest (ties away), as cuBLAS does, rather than letting
// the tensor core truncate the low mantissa bits (a bias toward zero).
__device__ __forceinline__ u32 to_tf32(float f) {
    u32 r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(f));
    return r;
}

// c += a (16x8, row-major) * b (8x8, column-major), TF32 in, f32 out.
__device__ __forceinline__ void mma_tf32(float* c, const u32* a, const u32* b) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// Not inlined: gemm_T and gemm_grouped_T share one copy of the body (the
// PTX stays half the size). The launcher reads the block size, 32 * WARPS,
// from the PTX (each entry's .maxntid).
template <int WARPS, typename U>
__device__ __noinline__ void gemm(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, int y_stride,
                     const float* bias, int n_in, int n_out, int n_tok) {
    __shared__ __align__(16) u32 sA[GM_BM * GM_LD];  // [weight row][k]
    __shared__ __align__(16) u32 sB[GM_BN * GM_LD];  // [token][k]
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int o0 = blockIdx.x * GM_BM, t0 = blockIdx.y * GM_BN;

    // Loader roles: a thread decodes unit (2 step + half) of weight row r
    // and/or loads the matching 32 activations of token r. Consecutive threads
    // take consecutive rows, so the 16-byte shared stores of a quarter warp
    // hit distinct banks (row stride 68 words = 4 banks apart). Rows past
    // the edge repeat the last row: their results are computed and dropped
    // (an output element depends only on its own row and token).
    constexpr bool split = WARPS == 8;
    const bool wrole = !split || tid < 2 * GM_BM;  // this thread decodes weights (split: else activations)
    const int lt = split ? tid & (2 * GM_BM - 1) : tid;
    const int r = lt & (GM_BM - 1), half = lt >> 6;
    const u8* wrow = W + (i64)min(o0 + r, n_out - 1) * row_bytes;
    const float* xrow = x + (i64)min(t0 + r, n_tok - 1) * x_stride;
    const bool xvec = ((size_t)x & 15) == 0 && (x_stride & 3) == 0;
    const int n_units = n_in >> 5, n_steps = (n_units + 1) >> 1;

    // xload loads the 32 activations of unit u of the token row.
    auto xload = [&](int u, float* v) {
        const float* xp = xrow + 32 * u;
        if (xvec) {
#pragma unroll
            for (int i = 0; i < 8; i++) {
                float4 f = ((const float4*)xp)[i];
                v[4 * i] = f.x, v[4 * i + 1] = f.y, v[4 * i + 2] = f.z, v[4 * i + 3] = f.w;
            }
        } else {
#pragma unroll
            for (int i = 0; i < 32; i++) v[i] = xp[i];
        }
    };
    auto put = [&](u32* dst, const float* v) {
        uint4* d = (uint4*)&dst[r * GM_LD + 32 * half];
#pragma unroll
        for (int i = 0; i < 8; i++)
            d[i] = make_uint4(to_tf32(v[4 * i]), to_tf32(v[4 * i + 1]), to_tf32(v[4 * i + 2]), to_tf32(v[4 * i + 3]));
    };
    // fetch loads unit 2 s + half of the weight row and/or the token into
    // registers; a unit past the row end (odd unit count) reads as zeros.
    // With split roles a thread holds one array, v0 (weights or tokens).
    float v0[32], v1[split ? 1 : 32];
    auto fetch = [&](int s) {
        int u = 2 * s + half;
        if (u < n_units) {
            if constexpr (split) {
                if (wrole)
                    U::get(wrow, u, v0);
                else
                    xload(u, v0);
            } else {
                U::get(wrow, u, v0);
                xload(u, v1);
            }
        } else {
#pragma unroll
            for (int i = 0; i < 32; i++) v0[i] = 0.f;
            if constexpr (!split) {
#pragma unroll
                for (int i = 0; i < 32; i++) v1[i] = 0.f;
            }
        }
    };
    auto store = [&]() {
        if constexpr (split) {
            put(wrole ? sA : sB, v0);
        } else {
            put(sA, v0);
            put(sB, v1);
        }
    };

    // Warp sub-tile: rows wm..wm+31, tokens wn..wn+31; fragment layout of
    // m16n8k8: g = lane / 4 picks the row (A) or column (B, C), q = lane % 4
    // the k index (A, B) or column pair (C).
    constexpr int NT = GM_BN / 8 / (WARPS / 2);  // n8 tiles per warp
    const int wm = (warp & 1) * 32, wn = (warp >> 1) * 8 * NT, g = lane >> 2, q = lane & 3;
    float acc[2][NT][4];
#pragma unroll
    for (int mi = 0; mi < 2; mi++)
#pragma unroll
        for (int ni = 0; ni < NT; ni++)
#pragma unroll
            for (int c = 0; c < 4; c++) acc[mi][ni][c] = 0.f;

    fetch(0);
    for (int s = 0; s < n_steps; s++) {
        store();
        __syncthreads();
        if (s + 1 < n_steps) fetch(s + 1);  // in flight during the MMAs below
#pragma unroll
        for (int kk = 0; kk < GM_BK; kk += 8) {
            u32 a[2][4], b[NT][2];
#pragma unroll
            for (int mi = 0; mi < 2; mi++) {
                const u32* p = &sA[(wm + 16 * mi + g) * GM_LD + kk + q];
                a[mi][0] = p[0];
                a[mi][1] = p[8 * GM_LD];
                a[mi][2] = p[4];
                a[mi][3] = p[8 * GM_LD + 4];
            }
#pragma unroll
            for (int ni = 0; ni < NT; ni++) {
                const u32* p = &sB[(wn + 8 * ni + g) * GM_LD + kk + q];
                b[ni][0] = p[0];
                b[ni][1] = p[4];
            }
#pragma unroll
            for (int mi = 0; mi < 2; mi++)
#pragma unroll
                for (int ni = 0; ni < NT; ni++) mma_tf32(acc[mi][ni], a[mi], b[ni]);
        }
        __syncthreads();  // the tile is read before the next store overwrites it
    }

    // C fragment: c0/c1 at (row g, tokens 2q, 2q+1), c2/c3 at row g + 8.
    // Lanes of equal q write 8 consecutive outputs of one token: 32 bytes.
#pragma unroll
    for (int mi = 0; mi < 2; mi++) {
#pragma unroll
        for (int h = 0; h < 2; h++) {
            int o = o0 + wm + 16 * mi + g + 8 * h;
            if (o >= n_out) continue;
            float bo = bias ? bias[o] : 0.f;
#pragma unroll
            for (int ni = 0; ni < NT; ni++) {
#pragma unroll
                for (int j = 0; j < 2; j++) {
                    int t = t0 + wn + 8 * ni + 2 * q + j;
                    if (t < n_tok) y[(i64)t * y_stride + o] = acc[mi][ni][2 * h + j] + bo;
                }
            }
        }
    }
}

// gemm_grouped: one launch for many (matrix, token range) groups — the
// routed experts of a batch, inputs sorted by expert. Group z = blockIdx.z
// is groups[3z..3z+2] = {matrix index, first row of x and y, row count}:
// it multiplies matrix W + index * matrix_bytes (bias + index * bias_stride)
// with rows first..first+count-1 of x into the same rows of y. Blocks past
// their group's count leave at once (grid.y covers the largest group).
template <typename U>
__device__ void gemm_grouped(const u8* W, i64 row_bytes, i64 matrix_bytes, const int* groups, const float* x,
                             int x_stride, float* y, int y_stride, const float* bias, int bias_stride, int n_in,
                             int n_out) {
    const int* gr = groups + 3 * blockIdx.z;
    int e = gr[0], first = gr[1], count = gr[2];
    if ((int)blockIdx.y * GM_BN >= count) return;  // the whole block: before any barrier
    gemm<4, U>(W + (i64)e * matrix_bytes, row_bytes, x + (i64)first * x_stride, x_stride, y + (i64)first * y_stride,
            y_stride, bias ? bias + (i64)e * bias_stride : nullptr, n_in, n_out, count);
}

// gemm_T, gemm8_T: grid (ceil(n_out/GM_BM), ceil(n_tok/GM_BN)), block 128
// or 256; arguments as matmul_T. gemm_grouped_T: grid (ceil(n_out/GM_BM),
// ceil(max count/GM_BN), groups), block 128.
#define DEFINE_GEMM(name, D, U)                                                                                  \
    struct GemmUnit_##name {                                                                                     \
        static __device__ __forceinline__ void get(const u8* r, int u, float* w) { U(r, u, w); }                 \
    };                                                                                                           \
    extern "C" __global__ void __launch_bounds__(128)                                                            \
        gemm_##name(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, int y_stride,            \
                    const float* bias, int n_in, int n_out, int n_tok) {                                         \
        gemm<4, GemmUnit_##name>(W, row_bytes, x, x_stride, y, y_stride, bias, n_in, n_out, n_tok);              \
    }                                                                                                            \
    extern "C" __global__ void __launch_bounds__(256)                                                            \
        gemm8_##name(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, int y_stride,           \
                     const float* bias, int n_in, int n_out, int n_tok) {                                        \
        gemm<8, GemmUnit_##name>(W, row_bytes, x, x_stride, y, y_stride, bias, n_in, n_out, n_tok);              \
    }                                                                                                            \
    extern "C" __global__ void __launch_bounds__(128)                                                            \
        gemm_grouped_##name(const u8* W, i64 row_bytes, i64 matrix_bytes, const int* groups, const float* x,     \
                            int x_stride, float* y, int y_stride, const float* bias, int bias_stride, int n_in,  \
                            int n_out) {                                                                         \
        gemm_grouped<GemmUnit_##name>(W, row_bytes, matrix_bytes, groups, x, x_stride, y, y_stride, bias,        \
                                      bias_stride, n_in, n_out);                                                 \
    }
FOR_EACH_WEIGHT_TYPE(DEFINE_GEMM)
