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

__constant__ float kvalues_mxfp4[16] = {0.f, 1.f, 2.f, 3.f, 4.f, 6.f, 8.f, 12.f,
                                        0.f, -1.f, -2.f, -3.f, -4.f, -6.f, -8.f, -12.f};

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
        return kvalues_mxfp4[code] * e8m0_half(b[0]);
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

// FOR_EACH_WEIGHT_TYPE(X) expands X(name, decoder) for every weight type the
// matrix and embedding kernels accept.
#define FOR_EACH_WEIGHT_TYPE(X) \
    X(f32, DeqF32)              \
    X(f16, DeqF16)              \
    X(bf16, DeqBF16)            \
    X(q8_0, DeqQ8_0)            \
    X(q4_k, DeqQ4_K)            \
    X(q5_k, DeqQ5_K)            \
    X(q6_k, DeqQ6_K)            \
    X(mxfp4, DeqMXFP4)
