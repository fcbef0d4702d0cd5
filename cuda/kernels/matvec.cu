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
// contiguous run of weights and of activations per load, and each warp
// computes MV_ROWS rows so that the activations, read once per octet, serve
// them all.
#include "common.cuh"

#define MV_WARPS 4
#define MV_TOKENS 4
#define MV_ROWS 4

// Octet decoders: oct(row, s, w, x0, x1) decodes octet s of a row into w[8]
// and gives the offsets of the two runs of 4 activations (16-byte aligned)
// that w[0..3] and w[4..7] multiply, and returns the factor the octet's dot
// product is scaled by (a block scale, applied once rather than per weight).
struct OctF32 {
    static __device__ __forceinline__ float get(const u8* row, int s, float* w, int* x0, int* x1) {
        const float4* p = (const float4*)(row + (i64)s * 32);
        float4 a = p[0], b = p[1];
        w[0] = a.x, w[1] = a.y, w[2] = a.z, w[3] = a.w, w[4] = b.x, w[5] = b.y, w[6] = b.z, w[7] = b.w;
        *x0 = 8 * s, *x1 = 8 * s + 4;
        return 1.f;
    }
};

struct OctF16 {
    static __device__ __forceinline__ float get(const u8* row, int s, float* w, int* x0, int* x1) {
        uint4 v = *(const uint4*)(row + (i64)s * 16);
        u32 a[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int j = 0; j < 4; j++) {
            w[2 * j] = __half2float(__ushort_as_half((u16)(a[j] & 0xffff)));
            w[2 * j + 1] = __half2float(__ushort_as_half((u16)(a[j] >> 16)));
        }
        *x0 = 8 * s, *x1 = 8 * s + 4;
        return 1.f;
    }
};

struct OctBF16 {
    static __device__ __forceinline__ float get(const u8* row, int s, float* w, int* x0, int* x1) {
        uint4 v = *(const uint4*)(row + (i64)s * 16);
        u32 a[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int j = 0; j < 4; j++) {
            w[2 * j] = __uint_as_float(a[j] << 16);
            w[2 * j + 1] = __uint_as_float(a[j] & 0xffff0000u);
        }
        *x0 = 8 * s, *x1 = 8 * s + 4;
        return 1.f;
    }
};

// Q8_0 (34-byte blocks: d, 32 int8): octet q of block u is bytes 8q..8q+7
// of the codes, elements 32u+8q..+7.
struct OctQ8_0 {
    static __device__ __forceinline__ float get(const u8* row, int s, float* w, int* x0, int* x1) {
        int u = s >> 2, q = s & 3;
        const u8* b = row + (i64)u * 34;
        const u16* c = (const u16*)(b + 2 + 8 * q);  // 2-byte aligned
        // int8 to float without the quarter-rate conversion: the byte with
        // its sign bit flipped is the mantissa of 2^23 + (v + 128).
#pragma unroll
        for (int i = 0; i < 4; i++) {
            u32 v = c[i];
            w[2 * i] = __uint_as_float(0x4B000000u | ((v & 0xff) ^ 0x80)) - 8388736.f;
            w[2 * i + 1] = __uint_as_float(0x4B000000u | ((v >> 8) ^ 0x80)) - 8388736.f;
        }
        *x0 = 32 * u + 8 * q, *x1 = 32 * u + 8 * q + 4;
        return ld_half(b);
    }
};

// MXFP4 (17-byte blocks: e8m0 scale, 16 bytes of nibble pairs; byte i holds
// element i low and i+16 high): octet q is bytes 4q..4q+3, elements
// 32u+4q..+3 (low nibbles) and 32u+16+4q..+3 (high nibbles).
// A code's sign and 3 magnitude bits, placed at bits 15 and 11..9 of a
// half, make exactly its E2M1 value times 2^-14 (exponent field e, mantissa
// m: 2^(e-15)(1+m/2), or m·2^-15 when e = 0), so two codes become a half2
// with integer ops and one conversion — no int-to-float conversions, which
// run at a quarter of the FMA rate and bounded the first version.
__device__ __forceinline__ float2 e2m1_pair(u32 two) {  // codes in bits 0..3 and 16..19
    u32 h = ((two & 0x00070007u) << 9) | ((two & 0x00080008u) << 12);
    return __half22float2(*(const __half2*)&h);
}

struct OctMXFP4 {
    static __device__ __forceinline__ float get(const u8* row, int s, float* w, int* x0, int* x1) {
        int u = s >> 2, q = s & 3;
        const u8* b = row + (i64)u * 17;
        const u8* c = b + 1 + 4 * q;
        u32 v = (u32)c[0] | ((u32)c[1] << 8) | ((u32)c[2] << 16) | ((u32)c[3] << 24);
        u32 lo01 = __byte_perm(v, 0, 0x4140), lo23 = __byte_perm(v, 0, 0x4342);  // bytes 0,1 and 2,3 into halves
        float2 a = e2m1_pair(lo01), bb = e2m1_pair(lo23), c2 = e2m1_pair(lo01 >> 4), d2 = e2m1_pair(lo23 >> 4);
        w[0] = a.x, w[1] = a.y, w[2] = bb.x, w[3] = bb.y;
        w[4] = c2.x, w[5] = c2.y, w[6] = d2.x, w[7] = d2.y;
        *x0 = 32 * u + 4 * q, *x1 = 32 * u + 16 + 4 * q;
        // e8m0_half(e)·2 is the block scale of the undoubled values; 2^14
        // undoes the half trick. Two steps keep e up to 254 from overflowing.
        return (e8m0_half(b[0]) * 2.f) * 16384.f;
    }
};

__device__ __forceinline__ float dot8(const float* w, float4 a, float4 b) {
    return w[0] * a.x + w[1] * a.y + w[2] * a.z + w[3] * a.w + w[4] * b.x + w[5] * b.y + w[6] * b.z + w[7] * b.w;
}

// rows_dot accumulates acc[r][t] += row_r · x[t] for MV_ROWS rows (rows[r])
// and nt tokens (x 16-byte aligned, x_stride a multiple of 4 floats). The
// activations are loaded once per octet for all rows: re-reading them per
// row made the narrow types bound by L1 bandwidth (an MXFP4 octet is 4.25
// bytes of weights against 32 bytes of activations).
template <typename O, int R>
__device__ __forceinline__ void rows_dot(const u8* const* rows, const float* x, int x_stride, int nt, int n_in,
                                         float (*acc)[MV_TOKENS]) {
    int lane = threadIdx.x & 31;
    int n_oct = n_in >> 3;
#pragma unroll 2
    for (int s = lane; s < n_oct; s += 32) {
        float w[R][8], sc[R];
        int x0, x1;
#pragma unroll
        for (int r = 0; r < R; r++) sc[r] = O::get(rows[r], s, w[r], &x0, &x1);
#pragma unroll
        for (int t = 0; t < MV_TOKENS; t++) {
            if (t < nt) {
                const float* xt = x + (i64)t * x_stride;
                float4 a = *(const float4*)(xt + x0), b = *(const float4*)(xt + x1);
#pragma unroll
                for (int r = 0; r < R; r++) acc[r][t] += sc[r] * dot8(w[r], a, b);
            }
        }
    }
}

// grid (ceil(n_out/(MV_WARPS*R)), ceil(n_tok/MV_TOKENS)), block
// 32*MV_WARPS; each warp computes R consecutive outputs (R = MV_ROWS, or 1
// for matrices too short to fill the GPU with blocks of MV_WARPS*MV_ROWS).
template <typename O, int R>
__device__ void matvec(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, int y_stride,
                       const float* bias, int n_in, int n_out, int n_tok) {
    int lane = threadIdx.x & 31;
    int o0 = (blockIdx.x * MV_WARPS + (threadIdx.x >> 5)) * R;
    int t0 = blockIdx.y * MV_TOKENS;
    if (o0 >= n_out) return;  // whole warps leave together
    int nt = min(MV_TOKENS, n_tok - t0);
    const u8* rows[R];
    float acc[R][MV_TOKENS];
#pragma unroll
    for (int r = 0; r < R; r++) {
        rows[r] = W + (i64)min(o0 + r, n_out - 1) * row_bytes;  // past the end: recompute the last row
#pragma unroll
        for (int t = 0; t < MV_TOKENS; t++) acc[r][t] = 0.f;
    }
    rows_dot<O, R>(rows, x + (i64)t0 * x_stride, x_stride, nt, n_in, acc);
#pragma unroll
    for (int r = 0; r < R; r++) {
        int o = o0 + r;
        float b = (bias && o < n_out) ? bias[o] : 0.f;
#pragma unroll
        for (int t = 0; t < MV_TOKENS; t++) {
            float s = warp_sum(acc[r][t]);
            if (lane == 0 && t < nt && o < n_out) y[(i64)(t0 + t) * y_stride + o] = s + b;
        }
    }
}

// grid (ceil(n_out/(MV_WARPS*MV_ROWS)), n_pairs), block 32*MV_WARPS: pair p
// uses matrix ids[p], input row p / x_div, output row p (matmul_id_T's
// contract).
template <typename O>
__device__ void matvec_id(const u8* W, i64 row_bytes, i64 expert_bytes, const int* ids, const float* x,
                          int x_stride, int x_div, float* y, int y_stride, const float* bias, int bias_stride,
                          int n_in, int n_out, int n_pairs) {
    int lane = threadIdx.x & 31;
    int o0 = (blockIdx.x * MV_WARPS + (threadIdx.x >> 5)) * MV_ROWS;
    int p = blockIdx.y;
    if (o0 >= n_out || p >= n_pairs) return;
    int e = ids[p];
    const u8* base = W + (i64)e * expert_bytes;
    const u8* rows[MV_ROWS];
    float acc[MV_ROWS][MV_TOKENS];
#pragma unroll
    for (int r = 0; r < MV_ROWS; r++) {
        rows[r] = base + (i64)min(o0 + r, n_out - 1) * row_bytes;
#pragma unroll
        for (int t = 0; t < MV_TOKENS; t++) acc[r][t] = 0.f;
    }
    rows_dot<O, MV_ROWS>(rows, x + (i64)(p / x_div) * x_stride, x_stride, 1, n_in, acc);
#pragma unroll
    for (int r = 0; r < MV_ROWS; r++) {
        int o = o0 + r;
        float s = warp_sum(acc[r][0]);
        if (lane == 0 && o < n_out) y[(i64)p * y_stride + o] = s + (bias ? bias[(i64)e * bias_stride + o] : 0.f);
    }
}

#define DEFINE_MATVEC(name, O)                                                                                  \
    extern "C" __global__ void matvec_##name(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, \
                                             int y_stride, const float* bias, int n_in, int n_out, int n_tok) { \
        matvec<O, MV_ROWS>(W, row_bytes, x, x_stride, y, y_stride, bias, n_in, n_out, n_tok);                  \
    }                                                                                                           \
    extern "C" __global__ void matvec1_##name(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, \
                                              int y_stride, const float* bias, int n_in, int n_out, int n_tok) { \
        matvec<O, 1>(W, row_bytes, x, x_stride, y, y_stride, bias, n_in, n_out, n_tok);                        \
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
