// Shared helpers of gguftool's kernels: reductions and the element decoders
// of the GGUF weight types (block layouts: gguf-format.md §5). Activations
// are float32 throughout; weights are read in their file encoding.
#pragma once

#include <cuda_fp16.h>

typedef unsigned char u8;
typedef signed char i8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef long long i64;

#define FULL_MASK 0xffffffffu

#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// block_sum reduces v over the whole block (blockDim.x a multiple of 32, at
// most 1024). Every thread gets the result. scratch holds 32 floats.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    __syncthreads();  // scratch may still be read by a previous reduction
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    int nw = blockDim.x >> 5;
    v = lane < nw ? scratch[lane] : 0.0f;
    return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    int nw = blockDim.x >> 5;
    v = lane < nw ? scratch[lane] : -INFINITY;
    return warp_max(v);
}

// Little-endian loads by bytes: block sizes (17, 34, 210 bytes) leave
// fields unaligned.
__device__ __forceinline__ float ld_half(const u8* p) {
    u16 u = (u16)p[0] | ((u16)p[1] << 8);
    return __half2float(__ushort_as_half(u));
}

__device__ __forceinline__ float ld_bf16(const u8* p) {
    u32 u = (u32)p[0] | ((u32)p[1] << 8);
    return __uint_as_float(u << 16);
}

// 2^(e-128), the MXFP4 block scale (E8M0 halved: the value table is E2M1 x 2).
__device__ __forceinline__ float e8m0_half(u32 e) {
    if (e >= 2) return __uint_as_float((e - 1) << 23);
    return __uint_as_float(0x00200000u << e);  // subnormal 2^-128, 2^-127
}

// kvalues_mxfp4[code] = {0, 1, 2, 3, 4, 6, 8, 12, -0, -1, ..., -12}: E2M1
// doubled. Looked up with a byte permute of two packed registers rather
// than a __constant__ table, which serializes when the lanes of a warp read
// different entries.
__device__ __forceinline__ float e2m1x2(int code) {
    int mag = (int)(__byte_perm(0x03020100u, 0x0C080604u, (u32)(code & 7)) & 0xff);
    return (float)(code & 8 ? -mag : mag);
}

// Each decoder returns element i of a row that starts at row. They are
// structs so kernels can be templates over the weight type.
struct DeqF32 {
    static __device__ __forceinline__ float get(const u8* row, int i) {
        return ((const float*)row)[i];
    }
};

struct DeqF16 {
    static __device__ __forceinline__ float get(const u8* row, int i) {
        return __half2float(((const __half*)row)[i]);
    }
};

struct DeqBF16 {
    static __device__ __forceinline__ float get(const u8* row, int i) {
        return __uint_as_float((u32)((const u16*)row)[i] << 16);
    }
};

struct DeqQ8_0 {  // 34 bytes: d (half), 32 x int8
    static __device__ __forceinline__ float get(const u8* row, int i) {
        const u8* b = row + (i >> 5) * 34;
        return ld_half(b) * (float)(i8)b[2 + (i & 31)];
    }
};

struct DeqMXFP4 {  // 17 bytes: e (E8M0), 16 bytes of nibbles (j, j+16)
    static __device__ __forceinline__ float get(const u8* row, int i) {
        const u8* b = row + (i >> 5) * 17;
        int j = i & 31;
        u8 q = b[1 + (j & 15)];
        int code = j < 16 ? (q & 15) : (q >> 4);
        return e2m1x2(code) * e8m0_half(b[0]);
    }
};

// 6-bit scale and min of sub-block j of a Q4_K/Q5_K block (get_scale_min_k4).
__device__ __forceinline__ void scale_min_k4(int j, const u8* s, int* sc, int* m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

struct DeqQ4_K {  // 144 bytes: d, dmin, scales[12], qs[128]
    static __device__ __forceinline__ float get(const u8* row, int i) {
        const u8* b = row + (i >> 8) * 144;
        int j = i & 255, c = j >> 6, l = j & 31, hi = (j >> 5) & 1;
        int sc, m;
        scale_min_k4(j >> 5, b + 4, &sc, &m);
        u8 q = b[16 + 32 * c + l];
        int L = hi ? (q >> 4) : (q & 15);
        return ld_half(b) * (float)sc * (float)L - ld_half(b + 2) * (float)m;
    }
};

struct DeqQ5_K {  // 176 bytes: d, dmin, scales[12], qh[32], qs[128]
    static __device__ __forceinline__ float get(const u8* row, int i) {
        const u8* b = row + (i >> 8) * 176;
        int j = i & 255, c = j >> 6, l = j & 31, hi = (j >> 5) & 1;
        int sc, m;
        scale_min_k4(j >> 5, b + 4, &sc, &m);
        u8 q = b[48 + 32 * c + l];
        int L = hi ? (q >> 4) : (q & 15);
        L |= ((b[16 + l] >> (2 * c + hi)) & 1) << 4;
        return ld_half(b) * (float)sc * (float)L - ld_half(b + 2) * (float)m;
    }
};

struct DeqQ6_K {  // 210 bytes: ql[128], qh[64], scales[16] (int8), d
    static __device__ __forceinline__ float get(const u8* row, int i) {
        const u8* b = row + (i >> 8) * 210;
        int j = i & 255, n = j >> 7, r = j & 127, quad = r >> 5, l = r & 31;
        u8 ql = b[64 * n + l + 32 * (quad & 1)];
        int low = quad >= 2 ? (ql >> 4) : (ql & 15);
        int h = (b[128 + 32 * n + l] >> (2 * quad)) & 3;
        int L = low | (h << 4);
        return ld_half(b + 208) * (float)(i8)b[192 + (j >> 4)] * (float)(L - 32);
    }
};

// Unit decoders: unit(row, u, w) writes elements 32u..32u+31 of a row into
// w[0..31]. The matrix kernels decode a whole unit per lane, so block
// headers (scales, mins) are read once per 32 weights and the codes with
// wide loads where the block layout keeps them aligned.
__device__ __forceinline__ void unit_f32(const u8* row, int u, float* w) {
    const float4* p = (const float4*)(row + (i64)u * 128);
#pragma unroll
    for (int i = 0; i < 8; i++) {
        float4 v = p[i];
        w[4 * i] = v.x, w[4 * i + 1] = v.y, w[4 * i + 2] = v.z, w[4 * i + 3] = v.w;
    }
}

__device__ __forceinline__ void unit_f16(const u8* row, int u, float* w) {
    const uint4* p = (const uint4*)(row + (i64)u * 64);
#pragma unroll
    for (int i = 0; i < 4; i++) {
        uint4 v = p[i];
        u32 a[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int j = 0; j < 4; j++) {
            w[8 * i + 2 * j] = __half2float(__ushort_as_half((u16)(a[j] & 0xffff)));
            w[8 * i + 2 * j + 1] = __half2float(__ushort_as_half((u16)(a[j] >> 16)));
        }
    }
}

__device__ __forceinline__ void unit_bf16(const u8* row, int u, float* w) {
    const uint4* p = (const uint4*)(row + (i64)u * 64);
#pragma unroll
    for (int i = 0; i < 4; i++) {
        uint4 v = p[i];
        u32 a[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int j = 0; j < 4; j++) {
            w[8 * i + 2 * j] = __uint_as_float(a[j] << 16);
            w[8 * i + 2 * j + 1] = __uint_as_float(a[j] & 0xffff0000u);
        }
    }
}

__device__ __forceinline__ void unit_q8_0(const u8* row, int u, float* w) {
    const u8* b = row + (i64)u * 34;
    float d = ld_half(b);
    const u16* q = (const u16*)(b + 2);  // 34-byte blocks keep 2-byte alignment
#pragma unroll
    for (int i = 0; i < 16; i++) {
        u16 v = q[i];
        w[2 * i] = d * (float)(i8)(v & 0xff);
        w[2 * i + 1] = d * (float)(i8)(v >> 8);
    }
}

__device__ __forceinline__ void unit_mxfp4(const u8* row, int u, float* w) {
    const u8* b = row + (i64)u * 17;
    float d = e8m0_half(b[0]);
#pragma unroll
    for (int i = 0; i < 16; i++) {
        u8 q = b[1 + i];
        w[i] = e2m1x2(q & 15) * d;
        w[i + 16] = e2m1x2(q >> 4) * d;
    }
}

// Q4_K/Q5_K: unit u is sub-block j = u % 8 of super-block u / 8; its codes
// are the low (j even) or high (j odd) nibbles of qs[32·(j/2) .. +31].
template <bool Q5>
__device__ __forceinline__ void unit_q45_k(const u8* row, int u, float* w) {
    const int size = Q5 ? 176 : 144, qs_off = Q5 ? 48 : 16;
    const u8* b = row + (i64)(u >> 3) * size;
    int j = u & 7, c = j >> 1, hi = j & 1;
    int sc, m;
    scale_min_k4(j, b + 4, &sc, &m);
    float d = ld_half(b) * (float)sc, mn = ld_half(b + 2) * (float)m;
    const uint4* q = (const uint4*)(b + qs_off + 32 * c);  // 16-byte aligned in both layouts
    uint4 q0 = q[0], q1 = q[1];
    u32 qa[8] = {q0.x, q0.y, q0.z, q0.w, q1.x, q1.y, q1.z, q1.w};
    u32 ha[8];
    if (Q5) {
        const uint4* h = (const uint4*)(b + 16);
        uint4 h0 = h[0], h1 = h[1];
        ha[0] = h0.x, ha[1] = h0.y, ha[2] = h0.z, ha[3] = h0.w, ha[4] = h1.x, ha[5] = h1.y, ha[6] = h1.z, ha[7] = h1.w;
    }
#pragma unroll
    for (int l = 0; l < 32; l++) {
        u32 byte = (qa[l >> 2] >> (8 * (l & 3))) & 0xff;
        int L = hi ? (byte >> 4) : (byte & 15);
        if (Q5) L |= (((ha[l >> 2] >> (8 * (l & 3))) >> (2 * c + hi)) & 1) << 4;
        w[l] = d * (float)L - mn;
    }
}

__device__ __forceinline__ void unit_q4_k(const u8* row, int u, float* w) { unit_q45_k<false>(row, u, w); }
__device__ __forceinline__ void unit_q5_k(const u8* row, int u, float* w) { unit_q45_k<true>(row, u, w); }

// Q6_K: unit u covers elements 32j..32j+31 (j = u % 8) of super-block u / 8:
// half n = j / 4, quarter q = j % 4; two int8 scales (16 elements each).
__device__ __forceinline__ void unit_q6_k(const u8* row, int u, float* w) {
    const u8* b = row + (i64)(u >> 3) * 210;
    int j = u & 7, n = j >> 2, quad = j & 3;
    float d = ld_half(b + 208);
    float s0 = d * (float)(i8)b[192 + 2 * j], s1 = d * (float)(i8)b[192 + 2 * j + 1];
    const u16* ql = (const u16*)(b + 64 * n + 32 * (quad & 1));  // 210-byte blocks keep 2-byte alignment
    const u16* qh = (const u16*)(b + 128 + 32 * n);
#pragma unroll
    for (int i = 0; i < 16; i++) {
        u16 lo2 = ql[i], hi2 = qh[i];
#pragma unroll
        for (int k = 0; k < 2; k++) {
            int l = 2 * i + k;
            int lb = (lo2 >> (8 * k)) & 0xff, hb = (hi2 >> (8 * k)) & 0xff;
            int low = quad >= 2 ? (lb >> 4) : (lb & 15);
            int L = low | (((hb >> (2 * quad)) & 3) << 4);
            w[l] = (l < 16 ? s0 : s1) * (float)(L - 32);
        }
    }
}

// FOR_EACH_WEIGHT_TYPE(X) expands X(name, element decoder, unit decoder) for
// every weight type the matrix and embedding kernels accept.
#define FOR_EACH_WEIGHT_TYPE(X) \
    X(f32, DeqF32, unit_f32)    \
    X(f16, DeqF16, unit_f16)    \
    X(bf16, DeqBF16, unit_bf16) \
    X(q8_0, DeqQ8_0, unit_q8_0) \
    X(q4_k, DeqQ4_K, unit_q4_k) \
    X(q5_k, DeqQ5_K, unit_q5_k) \
    X(q6_k, DeqQ6_K, unit_q6_k) \
    X(mxfp4, DeqMXFP4, unit_mxfp4)
