// Matrix products with weights in their GGUF encoding:
// y[t, o] = sum_i W[o, i] * x[t, i] (+ bias[o]), W stored as n_out rows of
// row_bytes. One warp per output row; each warp serves up to MM_TOKENS
// tokens at once so a weight row is decoded once per group of tokens.
// The _id variants pick the matrix per (token, slot) pair from a stack of
// experts (ids), as ggml's mul_mat_id does.
#include "common.cuh"

#define MM_WARPS 4
#define MM_TOKENS 8

template <typename D>
__device__ void matmul(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, int y_stride,
                       const float* bias, int n_in, int n_out, int n_tok) {
    int lane = threadIdx.x & 31;
    int o = blockIdx.x * MM_WARPS + (threadIdx.x >> 5);
    int t0 = blockIdx.y * MM_TOKENS;
    if (o >= n_out) return;  // whole warps leave together
    int nt = min(MM_TOKENS, n_tok - t0);
    const u8* row = W + (i64)o * row_bytes;
    const float* xt = x + (i64)t0 * x_stride;
    float acc[MM_TOKENS];
#pragma unroll
    for (int t = 0; t < MM_TOKENS; t++) acc[t] = 0.f;
    for (int i = lane; i < n_in; i += 32) {
        float w = D::get(row, i);
#pragma unroll
        for (int t = 0; t < MM_TOKENS; t++)
            if (t < nt) acc[t] += w * xt[(i64)t * x_stride + i];
    }
    float b = bias ? bias[o] : 0.f;
#pragma unroll
    for (int t = 0; t < MM_TOKENS; t++) {
        float s = warp_sum(acc[t]);
        if (lane == 0 && t < nt) y[(i64)(t0 + t) * y_stride + o] = s + b;
    }
}

// Pair p uses matrix ids[p] (expert_bytes apart), input row p / x_div
// (x_div = k: all slots of a token share its input; 1: one input per pair)
// and writes output row p. bias (if any) is per expert, bias_stride apart.
template <typename D>
__device__ void matmul_id(const u8* W, i64 row_bytes, i64 expert_bytes, const int* ids, const float* x,
                          int x_stride, int x_div, float* y, int y_stride, const float* bias, int bias_stride,
                          int n_in, int n_out, int n_pairs) {
    int lane = threadIdx.x & 31;
    int o = blockIdx.x * MM_WARPS + (threadIdx.x >> 5);
    int p = blockIdx.y;
    if (o >= n_out || p >= n_pairs) return;
    int e = ids[p];
    const u8* row = W + (i64)e * expert_bytes + (i64)o * row_bytes;
    const float* xr = x + (i64)(p / x_div) * x_stride;
    float acc = 0.f;
    for (int i = lane; i < n_in; i += 32) acc += D::get(row, i) * xr[i];
    acc = warp_sum(acc);
    if (lane == 0) y[(i64)p * y_stride + o] = acc + (bias ? bias[(i64)e * bias_stride + o] : 0.f);
}

// matmul_T: grid (ceil(n_out/MM_WARPS), ceil(n_tok/MM_TOKENS)), block 32*MM_WARPS.
// matmul_id_T: grid (ceil(n_out/MM_WARPS), n_pairs), block 32*MM_WARPS.
#define DEFINE_MATMUL(name, D)                                                                                 \
    extern "C" __global__ void matmul_##name(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, \
                                             int y_stride, const float* bias, int n_in, int n_out, int n_tok) { \
        matmul<D>(W, row_bytes, x, x_stride, y, y_stride, bias, n_in, n_out, n_tok);                          \
    }                                                                                                          \
    extern "C" __global__ void matmul_id_##name(const u8* W, i64 row_bytes, i64 expert_bytes, const int* ids,  \
                                                const float* x, int x_stride, int x_div, float* y,            \
                                                int y_stride, const float* bias, int bias_stride, int n_in,   \
                                                int n_out, int n_pairs) {                                     \
        matmul_id<D>(W, row_bytes, expert_bytes, ids, x, x_stride, x_div, y, y_stride, bias, bias_stride,     \
                     n_in, n_out, n_pairs);                                                                   \
    }
FOR_EACH_WEIGHT_TYPE(DEFINE_MATMUL)
