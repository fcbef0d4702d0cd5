// Matrix products with weights in their GGUF encoding:
// y[t, o] = sum_i W[o, i] * x[t, i] (+ bias[o]), W stored as n_out rows of
// row_bytes. One warp per output row; each lane decodes whole 32-weight
// units (a Q8_0/MXFP4 block, a K-quant sub-block, 32 floats) into registers
// and multiplies them with up to MM_TOKENS tokens, so a weight row is read
// and decoded once per group of tokens. Rows whose length is not a multiple
// of 32, or weights not 16-byte aligned, take a per-element path.
// The _id variants pick the matrix per (token, slot) pair from a stack of
// experts (ids), as ggml's mul_mat_id does.
#include "common.cuh"

#define MM_WARPS 4
#define MM_TOKENS 8

// dot32 returns sum_i w[i] * x[i] over 32 floats; x 16-byte aligned when vec.
__device__ __forceinline__ float dot32(const float* w, const float* x, bool vec) {
    float s = 0.f;
    if (vec) {
        const float4* x4 = (const float4*)x;
#pragma unroll
        for (int i = 0; i < 8; i++) {
            float4 v = x4[i];
            s += w[4 * i] * v.x + w[4 * i + 1] * v.y + w[4 * i + 2] * v.z + w[4 * i + 3] * v.w;
        }
    } else {
#pragma unroll
        for (int i = 0; i < 32; i++) s += w[i] * x[i];
    }
    return s;
}

template <typename D, typename U>
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
    if ((n_in & 31) == 0 && ((size_t)W & 15) == 0) {
        bool xvec = ((size_t)x & 15) == 0 && (x_stride & 3) == 0;
        int n_units = n_in >> 5;
        for (int u = lane; u < n_units; u += 32) {
            float w[32];
            U::get(row, u, w);
#pragma unroll
            for (int t = 0; t < MM_TOKENS; t++)
                if (t < nt) acc[t] += dot32(w, xt + (i64)t * x_stride + 32 * u, xvec);
        }
    } else {
        for (int i = lane; i < n_in; i += 32) {
            float w = D::get(row, i);
#pragma unroll
            for (int t = 0; t < MM_TOKENS; t++)
                if (t < nt) acc[t] += w * xt[(i64)t * x_stride + i];
        }
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
template <typename D, typename U>
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
    if ((n_in & 31) == 0 && ((size_t)W & 15) == 0 && (expert_bytes & 15) == 0) {
        bool xvec = ((size_t)xr & 15) == 0;
        int n_units = n_in >> 5;
        for (int u = lane; u < n_units; u += 32) {
            float w[32];
            U::get(row, u, w);
            acc += dot32(w, xr + 32 * u, xvec);
        }
    } else {
        for (int i = lane; i < n_in; i += 32) acc += D::get(row, i) * xr[i];
    }
    acc = warp_sum(acc);
    if (lane == 0) y[(i64)p * y_stride + o] = acc + (bias ? bias[(i64)e * bias_stride + o] : 0.f);
}

// matmul_T: grid (ceil(n_out/MM_WARPS), ceil(n_tok/MM_TOKENS)), block 32*MM_WARPS.
// matmul_id_T: grid (ceil(n_out/MM_WARPS), n_pairs), block 32*MM_WARPS.
#define DEFINE_MATMUL(name, D, U)                                                                              \
    struct Unit_##name {                                                                                       \
        static __device__ __forceinline__ void get(const u8* r, int u, float* w) { U(r, u, w); }               \
    };                                                                                                         \
    extern "C" __global__ void matmul_##name(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, \
                                             int y_stride, const float* bias, int n_in, int n_out, int n_tok) { \
        matmul<D, Unit_##name>(W, row_bytes, x, x_stride, y, y_stride, bias, n_in, n_out, n_tok);                       \
    }                                                                                                          \
    extern "C" __global__ void matmul_id_##name(const u8* W, i64 row_bytes, i64 expert_bytes, const int* ids,  \
                                                const float* x, int x_stride, int x_div, float* y,            \
                                                int y_stride, const float* bias, int bias_stride, int n_in,   \
                                                int n_out, int n_pairs) {                                     \
        matmul_id<D, Unit_##name>(W, row_bytes, expert_bytes, ids, x, x_stride, x_div, y, y_stride, bias, bias_stride,  \
                        n_in, n_out, n_pairs);                                                                \
    }
FOR_EACH_WEIGHT_TYPE(DEFINE_MATMUL)
