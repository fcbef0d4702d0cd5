// Matrix-vector products for decode-sized batches (up to MV_TOKENS tokens),
// for the types whose 32-weight units split into four 8-weight "octets"
// with 16-byte aligned activations: F32, F16, BF16, Q8_0 and MXFP4.
// Same contract as matmul.cu's matmul_T / matmul_id_T; ops picks these when
// the weights and activations are aligned and the batch is small.
//
// Why a second kernel: matmul.cu gives each lane a whole 32-weight unit, so
// the 32 lanes of a warp read activations 128 bytes apart (32 cache lines
// per load instruction) and weights 17–64 bytes apart — measured at 0.4
// (MXFP4) to 1 TB/s (F16) of weights on an H200 in decode. Here lane l takes
// octet l of the row, then l+32, ...: the lanes of a warp read one
// contiguous run of weights and of activations per load, and keep several
// octets in flight (MV_UNROLL) to cover memory latency.
#include "common.cuh"

#define MV_WARPS 4
#define MV_TOKENS 8
#define MV_UNROLL 2

// Octet decoders: oct(row, s, w, x0, x1) decodes octet s of a row into w[8]
// and gives the offsets of the two runs of 4 activations (16-byte aligned)
// that w[0..3] and w[4..7] multiply.
struct OctF32 {
    static __device__ __forceinline__ void get(const u8* row, int s, float* w, int* x0, int* x1) {
        const float4* p = (const float4*)(row + (i64)s * 32);
        float4 a = p[0], b = p[1];
        w[0] = a.x, w[1] = a.y, w[2] = a.z, w[3] = a.w, w[4] = b.x, w[5] = b.y, w[6] = b.z, w[7] = b.w;
        *x0 = 8 * s, *x1 = 8 * s + 4;
    }
};

struct OctF16 {
    static __device__ __forceinline__ void get(const u8* row, int s, float* w, int* x0, int* x1) {
        uint4 v = *(const uint4*)(row + (i64)s * 16);
        u32 a[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int j = 0; j < 4; j++) {
            w[2 * j] = __half2float(__ushort_as_half((u16)(a[j] & 0xffff)));
            w[2 * j + 1] = __half2float(__ushort_as_half((u16)(a[j] >> 16)));
        }
        *x0 = 8 * s, *x1 = 8 * s + 4;
    }
};

struct OctBF16 {
    static __device__ __forceinline__ void get(const u8* row, int s, float* w, int* x0, int* x1) {
        uint4 v = *(const uint4*)(row + (i64)s * 16);
        u32 a[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int j = 0; j < 4; j++) {
            w[2 * j] = __uint_as_float(a[j] << 16);
            w[2 * j + 1] = __uint_as_float(a[j] & 0xffff0000u);
        }
        *x0 = 8 * s, *x1 = 8 * s + 4;
    }
};

// Q8_0 (34-byte blocks: d, 32 int8): octet q of block u is bytes 8q..8q+7
// of the codes, elements 32u+8q..+7.
struct OctQ8_0 {
    static __device__ __forceinline__ void get(const u8* row, int s, float* w, int* x0, int* x1) {
        int u = s >> 2, q = s & 3;
        const u8* b = row + (i64)u * 34;
        float d = ld_half(b);
        const u16* c = (const u16*)(b + 2 + 8 * q);  // 2-byte aligned
#pragma unroll
        for (int i = 0; i < 4; i++) {
            u16 v = c[i];
            w[2 * i] = d * (float)(i8)(v & 0xff);
            w[2 * i + 1] = d * (float)(i8)(v >> 8);
        }
        *x0 = 32 * u + 8 * q, *x1 = 32 * u + 8 * q + 4;
    }
};

// MXFP4 (17-byte blocks: e8m0 scale, 16 bytes of nibble pairs; byte i holds
// element i low and i+16 high): octet q is bytes 4q..4q+3, elements
// 32u+4q..+3 (low nibbles) and 32u+16+4q..+3 (high nibbles).
struct OctMXFP4 {
    static __device__ __forceinline__ void get(const u8* row, int s, float* w, int* x0, int* x1) {
        int u = s >> 2, q = s & 3;
        const u8* b = row + (i64)u * 17;
        float d = e8m0_half(b[0]);
        const u8* c = b + 1 + 4 * q;
#pragma unroll
        for (int i = 0; i < 4; i++) {
            u8 v = c[i];
            w[i] = e2m1x2(v & 15) * d;
            w[4 + i] = e2m1x2(v >> 4) * d;
        }
        *x0 = 32 * u + 4 * q, *x1 = 32 * u + 16 + 4 * q;
    }
};

__device__ __forceinline__ float dot8(const float* w, const float* x, int x0, int x1) {
    float4 a = *(const float4*)(x + x0), b = *(const float4*)(x + x1);
    return w[0] * a.x + w[1] * a.y + w[2] * a.z + w[3] * a.w + w[4] * b.x + w[5] * b.y + w[6] * b.z + w[7] * b.w;
}

// row_dot accumulates acc[t] += row · x[t] for nt tokens (x 16-byte aligned,
// x_stride a multiple of 4 floats).
template <typename O>
__device__ __forceinline__ void row_dot(const u8* row, const float* x, int x_stride, int nt, int n_in, float* acc) {
    int lane = threadIdx.x & 31;
    int n_oct = n_in >> 3;
    int s = lane;
    for (; s + 32 * (MV_UNROLL - 1) < n_oct; s += 32 * MV_UNROLL) {
        float w[MV_UNROLL][8];
        int x0[MV_UNROLL], x1[MV_UNROLL];
#pragma unroll
        for (int r = 0; r < MV_UNROLL; r++) O::get(row, s + 32 * r, w[r], &x0[r], &x1[r]);
#pragma unroll
        for (int t = 0; t < MV_TOKENS; t++) {
            if (t < nt) {
                const float* xt = x + (i64)t * x_stride;
#pragma unroll
                for (int r = 0; r < MV_UNROLL; r++) acc[t] += dot8(w[r], xt, x0[r], x1[r]);
            }
        }
    }
    for (; s < n_oct; s += 32) {
        float w[8];
        int x0, x1;
        O::get(row, s, w, &x0, &x1);
#pragma unroll
        for (int t = 0; t < MV_TOKENS; t++)
            if (t < nt) acc[t] += dot8(w, x + (i64)t * x_stride, x0, x1);
    }
}

// grid (ceil(n_out/MV_WARPS), ceil(n_tok/MV_TOKENS)), block 32*MV_WARPS.
template <typename O>
__device__ void matvec(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, int y_stride,
                       const float* bias, int n_in, int n_out, int n_tok) {
    int lane = threadIdx.x & 31;
    int o = blockIdx.x * MV_WARPS + (threadIdx.x >> 5);
    int t0 = blockIdx.y * MV_TOKENS;
    if (o >= n_out) return;  // whole warps leave together
    int nt = min(MV_TOKENS, n_tok - t0);
    float acc[MV_TOKENS];
#pragma unroll
    for (int t = 0; t < MV_TOKENS; t++) acc[t] = 0.f;
    row_dot<O>(W + (i64)o * row_bytes, x + (i64)t0 * x_stride, x_stride, nt, n_in, acc);
    float b = bias ? bias[o] : 0.f;
#pragma unroll
    for (int t = 0; t < MV_TOKENS; t++) {
        float s = warp_sum(acc[t]);
        if (lane == 0 && t < nt) y[(i64)(t0 + t) * y_stride + o] = s + b;
    }
}

// grid (ceil(n_out/MV_WARPS), n_pairs), block 32*MV_WARPS: pair p uses
// matrix ids[p], input row p / x_div, output row p (matmul_id_T's contract).
template <typename O>
__device__ void matvec_id(const u8* W, i64 row_bytes, i64 expert_bytes, const int* ids, const float* x,
                          int x_stride, int x_div, float* y, int y_stride, const float* bias, int bias_stride,
                          int n_in, int n_out, int n_pairs) {
    int lane = threadIdx.x & 31;
    int o = blockIdx.x * MV_WARPS + (threadIdx.x >> 5);
    int p = blockIdx.y;
    if (o >= n_out || p >= n_pairs) return;
    int e = ids[p];
    float acc[MV_TOKENS];
#pragma unroll
    for (int t = 0; t < MV_TOKENS; t++) acc[t] = 0.f;
    row_dot<O>(W + (i64)e * expert_bytes + (i64)o * row_bytes, x + (i64)(p / x_div) * x_stride, x_stride, 1, n_in, acc);
    float s = warp_sum(acc[0]);
    if (lane == 0) y[(i64)p * y_stride + o] = s + (bias ? bias[(i64)e * bias_stride + o] : 0.f);
}

#define DEFINE_MATVEC(name, O)                                                                                  \
    extern "C" __global__ void matvec_##name(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, \
                                             int y_stride, const float* bias, int n_in, int n_out, int n_tok) { \
        matvec<O>(W, row_bytes, x, x_stride, y, y_stride, bias, n_in, n_out, n_tok);                           \
    }                                                                                                           \
    extern "C" __global__ void matvec_id_##name(const u8* W, i64 row_bytes, i64 expert_bytes, const int* ids,   \
                                                const float* x, int x_stride, int x_div, float* y,             \
                                                int y_stride, const float* bias, int bias_stride, int n_in,    \
                                                int n_out, int n_pairs) {                                      \
        matvec_id<O>(W, row_bytes, expert_bytes, ids, x, x_stride, x_div, y, y_stride, bias, bias_stride, n_in, \
                     n_out, n_pairs);                                                                           \
    }
DEFINE_MATVEC(f32, OctF32)
DEFINE_MATVEC(f16, OctF16)
DEFINE_MATVEC(bf16, OctBF16)
DEFINE_MATVEC(q8_0, OctQ8_0)
DEFINE_MATVEC(mxfp4, OctMXFP4)
