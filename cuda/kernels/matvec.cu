// Matrix-vector products for decode-sized batches (up to MV_TOKENS tokens),
// for the types whose 32-weight units split into four 8-weight "octets"
// with 16-byte aligned activations: F32, F16, BF16, Q8_0 and MXFP4.
// Same contract as matmul.cu's matmul_T / matmul_id_T; ops picks these when
// the weights and activations are aligned and the batch is small.
//
// Why a second kernel: matmul.cu gives each lane a whole 32-weight unit, so
// the 32 lanes of a warp read activations 128 bytes apart (32 cache lines
// per load instruction) and weights 17–64 bytes apart — measured at 0.4
// (MXFP4) to 1 TB/s (F16) of weights on an H200 in decode. Here a block of
// MV_THREADS threads shares R rows: thread i takes octets i, i +
// MV_THREADS, ... of every row, so the lanes of a warp read one contiguous
// run of weights and of activations per load, the activations read once
// per octet serve all R rows, and each thread has the loads of MV_UNROLL
// octets per row in flight at once before it decodes any. Entry points:
// matvec_ (MV_ROWS rows a block), matvec1_ (one), matvec2_ (two, the first
// token's activations read with the weights) and matvec_id_.
//
// The first version (kept below as matvec_warp_ for large Q8_0 and MXFP4
// matrices) gave each warp its own 4 rows and read one octet per lane at a
// time; gpt-oss-20b's decode shapes on an H100, GB/s of weights, first
// version → this one: experts 4 x 2880x2880 MXFP4 868 → 995; F16
// 4096x2880 1,610 → 1,817, 2880x4096 1,746 → 2,100 (matvec2_), 512x2880
// 316 → 496 (128 warps had been all a 512-row matrix made, for 132
// multiprocessors), head 201088x2880 2,835 → 3,142.
#include "common.cuh"

#define MV_THREADS 128
#define MV_TOKENS 4
#define MV_ROWS 4
#define MV_ID_ROWS 4
#define MV_UNROLL 4

// Octet decoders, in two steps so that a thread can issue the loads of
// several octets before it decodes any (the loads of a whole chunk in flight
// at once, rather than one octet's latency after another):
// load(row, s) reads octet s of a row in its file encoding (Raw), xoff(s,
// x0, x1) gives the offsets of its activations, and
// dec(raw, s, w, x0, x1) decodes it into w[8], gives the offsets of the two
// runs of 4 activations (16-byte aligned) that w[0..3] and w[4..7] multiply,
// and returns the factor the octet's dot product is scaled by (a block
// scale, applied once rather than per weight). Weights go through the
// read-only data path (__ldg): no kernel writes them.
struct OctF32 {
    struct Raw { float4 a, b; };
    static __device__ __forceinline__ Raw load(const u8* row, int s) {
        const float4* p = (const float4*)(row + (i64)s * 32);
        return Raw{__ldg(p), __ldg(p + 1)};
    }
    static __device__ __forceinline__ void xoff(int s, int* x0, int* x1) { *x0 = 8 * s, *x1 = 8 * s + 4; }
    static __device__ __forceinline__ float dec(Raw r, int s, float* w, int* x0, int* x1) {
        w[0] = r.a.x, w[1] = r.a.y, w[2] = r.a.z, w[3] = r.a.w, w[4] = r.b.x, w[5] = r.b.y, w[6] = r.b.z, w[7] = r.b.w;
        *x0 = 8 * s, *x1 = 8 * s + 4;
        return 1.f;
    }
};

struct OctF16 {
    typedef uint4 Raw;
    static __device__ __forceinline__ Raw load(const u8* row, int s) {
        return __ldg((const uint4*)(row + (i64)s * 16));
    }
    static __device__ __forceinline__ void xoff(int s, int* x0, int* x1) { *x0 = 8 * s, *x1 = 8 * s + 4; }
    static __device__ __forceinline__ float dec(Raw v, int s, float* w, int* x0, int* x1) {
        u32 a[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
        for (int j = 0; j < 4; j++) {
            float2 f = __half22float2(*(const __half2*)&a[j]);
            w[2 * j] = f.x, w[2 * j + 1] = f.y;
        }
        *x0 = 8 * s, *x1 = 8 * s + 4;
        return 1.f;
    }
};

struct OctBF16 {
    typedef uint4 Raw;
    static __device__ __forceinline__ Raw load(const u8* row, int s) {
        return __ldg((const uint4*)(row + (i64)s * 16));
    }
    static __device__ __forceinline__ void xoff(int s, int* x0, int* x1) { *x0 = 8 * s, *x1 = 8 * s + 4; }
    static __device__ __forceinline__ float dec(Raw v, int s, float* w, int* x0, int* x1) {
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
// of the codes, elements 32u+8q..+7; the blocks keep 2-byte alignment.
struct OctQ8_0 {
    struct Raw { u32 lo, hi, d; };
    static __device__ __forceinline__ Raw load(const u8* row, int s) {
        int u = s >> 2, q = s & 3;
        const u16* b = (const u16*)(row + (i64)u * 34);
        const u16* c = b + 1 + 4 * q;
        return Raw{(u32)__ldg(c) | ((u32)__ldg(c + 1) << 16), (u32)__ldg(c + 2) | ((u32)__ldg(c + 3) << 16),
                   (u32)__ldg(b)};
    }
    static __device__ __forceinline__ void xoff(int s, int* x0, int* x1) { *x0 = 8 * s, *x1 = 8 * s + 4; }
    static __device__ __forceinline__ float dec(Raw r, int s, float* w, int* x0, int* x1) {
        int u = s >> 2, q = s & 3;
        // int8 to float without the quarter-rate conversion: the byte with
        // its sign bit flipped is the mantissa of 2^23 + (v + 128).
#pragma unroll
        for (int i = 0; i < 4; i++) {
            w[i] = __uint_as_float(0x4B000000u | (((r.lo >> (8 * i)) & 0xff) ^ 0x80)) - 8388736.f;
            w[4 + i] = __uint_as_float(0x4B000000u | (((r.hi >> (8 * i)) & 0xff) ^ 0x80)) - 8388736.f;
        }
        *x0 = 32 * u + 8 * q, *x1 = 32 * u + 8 * q + 4;
        return __half2float(__ushort_as_half((u16)r.d));
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

// mxfp4_octet decodes the 4 code bytes v of an octet and returns the
// octet's factor for block scale byte e.
__device__ __forceinline__ float mxfp4_octet(u32 v, u32 e, float* w) {
    u32 lo01 = __byte_perm(v, 0, 0x4140), lo23 = __byte_perm(v, 0, 0x4342);  // bytes 0,1 and 2,3 into halves
    float2 a = e2m1_pair(lo01), b = e2m1_pair(lo23), c = e2m1_pair(lo01 >> 4), d = e2m1_pair(lo23 >> 4);
    w[0] = a.x, w[1] = a.y, w[2] = b.x, w[3] = b.y;
    w[4] = c.x, w[5] = c.y, w[6] = d.x, w[7] = d.y;
    // 2^(e-127) (E8M0) times 2^14, which undoes the half trick, is the
    // float with exponent field e + 14 (from e = 241, scales of 2^114 and
    // more, it overflows to infinity, as the first version's product did).
    return __uint_as_float(min(e + 14u, 255u) << 23);
}

// The 4 code bytes of an octet start 17u + 1 + 4q bytes into the row, at
// any alignment: they are read as the two aligned words that hold them and
// shifted into place (a funnel shift), two loads rather than four
// single-byte ones. When they are aligned the second read is of the first
// word again (the shift ignores it), so no read goes past the block.
struct OctMXFP4 {
    struct Raw { u32 c, e; };
    static __device__ __forceinline__ Raw load(const u8* row, int s) {
        int u = s >> 2, q = s & 3;
        const u8* b = row + (i64)u * 17;
        size_t a = (size_t)(b + 1 + 4 * q);
        const u32* p = (const u32*)(a & ~(size_t)3);
        u32 sh = (u32)(a & 3) * 8;
        u32 w0 = __ldg(p), w1 = __ldg(p + (sh != 0));
        return Raw{__funnelshift_r(w0, w1, sh), (u32)__ldg(b)};
    }
    static __device__ __forceinline__ void xoff(int s, int* x0, int* x1) { *x0 = 32 * (s >> 2) + 4 * (s & 3), *x1 = *x0 + 16; }
    static __device__ __forceinline__ float dec(Raw r, int s, float* w, int* x0, int* x1) {
        int u = s >> 2, q = s & 3;
        *x0 = 32 * u + 4 * q, *x1 = 32 * u + 16 + 4 * q;
        return mxfp4_octet(r.c, r.e, w);
    }
};

__device__ __forceinline__ float dot8(const float* w, float4 a, float4 b) {
    return w[0] * a.x + w[1] * a.y + w[2] * a.z + w[3] * a.w + w[4] * b.x + w[5] * b.y + w[6] * b.z + w[7] * b.w;
}

// block_dot accumulates acc[r][t] += row_r · x[t] over this thread's share
// of the octets for R rows and nt tokens (x 16-byte aligned, x_stride a
// multiple of 4 floats): thread i of NT takes octets i, i + NT, ... — the
// lanes of a warp read one contiguous run of weights and of activations per
// load — and issues the loads of U of them (for all R rows, and the first
// token's activations when XP) before it decodes any, so that a row of
// 2,880 weights is one round trip to memory rather than a dozen. (XP
// measured faster with 2 rows a block and slower with 4, whose registers
// then cut the blocks a multiprocessor holds.) The
// activations are loaded once per octet for all rows: re-reading them per
// row made the narrow types bound by L1 bandwidth (an MXFP4 octet is 4.25
// bytes of weights against 32 bytes of activations).
template <typename O, int R, int NT, int U, bool XP>
__device__ __forceinline__ void block_dot(const u8* const* rows, const float* x, int x_stride, int nt, int n_in,
                                          float (*acc)[MV_TOKENS]) {
    int n_oct = n_in >> 3;
    for (int s0 = threadIdx.x; s0 < n_oct; s0 += NT * U) {
        typename O::Raw raw[U][R];
        float4 xa[U], xb[U];
#pragma unroll
        for (int u = 0; u < U; u++) {
            int s = s0 + u * NT;
            if (XP && s < n_oct) {
                int x0, x1;
                O::xoff(s, &x0, &x1);
                xa[u] = *(const float4*)(x + x0), xb[u] = *(const float4*)(x + x1);
            }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            int s = s0 + u * NT;
            if (s < n_oct) {
#pragma unroll
                for (int r = 0; r < R; r++) raw[u][r] = O::load(rows[r], s);
            }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            int s = s0 + u * NT;
            if (s < n_oct) {
                float w[R][8], sc[R];
                int x0, x1;
#pragma unroll
                for (int r = 0; r < R; r++) sc[r] = O::dec(raw[u][r], s, w[r], &x0, &x1);
#pragma unroll
                for (int t = 0; t < MV_TOKENS; t++) {
                    if (t < nt) {
                        float4 a, b;
                        if (XP && t == 0) {
                            a = xa[u], b = xb[u];
                        } else {
                            const float* xt = x + (i64)t * x_stride;
                            a = *(const float4*)(xt + x0), b = *(const float4*)(xt + x1);
                        }
#pragma unroll
                        for (int r = 0; r < R; r++) acc[r][t] += sc[r] * dot8(w[r], a, b);
                    }
                }
            }
        }
    }
}

// block_sum_rows sums acc[r][t] over the NT threads of the block; thread
// r * MV_TOKENS + t (< R * MV_TOKENS) gets the sum of acc[r][t].
template <int R, int NT>
__device__ __forceinline__ float block_sum_rows(float (*acc)[MV_TOKENS], int nt) {
    __shared__ float part[NT / 32][R * MV_TOKENS];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
    for (int r = 0; r < R; r++) {
#pragma unroll
        for (int t = 0; t < MV_TOKENS; t++) {
            if (t < nt) {
                float v = warp_sum(acc[r][t]);
                if (lane == 0) part[warp][r * MV_TOKENS + t] = v;
            }
        }
    }
    __syncthreads();
    float s = 0.f;
    if (threadIdx.x < R * MV_TOKENS) {
#pragma unroll
        for (int w = 0; w < NT / 32; w++) s += part[w][threadIdx.x];
    }
    return s;
}

// grid (ceil(n_out/R), ceil(n_tok/MV_TOKENS)), block NT: a block computes R
// consecutive outputs for up to MV_TOKENS tokens, its threads splitting the
// rows (R = MV_ROWS, 1 or 2: ops.matvecEntryFor picks per type and size).
template <typename O, int R, int NT, int U, bool XP>
__device__ void matvec(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, int y_stride,
                       const float* bias, int n_in, int n_out, int n_tok) {
    int o0 = blockIdx.x * R;
    int t0 = blockIdx.y * MV_TOKENS;
    int nt = min(MV_TOKENS, n_tok - t0);
    const u8* rows[R];
    float acc[R][MV_TOKENS];
#pragma unroll
    for (int r = 0; r < R; r++) {
        rows[r] = W + (i64)min(o0 + r, n_out - 1) * row_bytes;  // past the end: recompute the last row
#pragma unroll
        for (int t = 0; t < MV_TOKENS; t++) acc[r][t] = 0.f;
    }
    block_dot<O, R, NT, U, XP>(rows, x + (i64)t0 * x_stride, x_stride, nt, n_in, acc);
    float s = block_sum_rows<R, NT>(acc, nt);
    int r = threadIdx.x / MV_TOKENS, t = threadIdx.x % MV_TOKENS, o = o0 + r;
    if (r < R && t < nt && o < n_out) y[(i64)(t0 + t) * y_stride + o] = s + (bias ? bias[o] : 0.f);
}

// grid (ceil(n_out/R), n_pairs), block NT: pair p uses matrix ids[p], input
// row p / x_div, output row p (matmul_id_T's contract).
template <typename O, int R, int NT, int U, bool XP>
__device__ void matvec_id(const u8* W, i64 row_bytes, i64 expert_bytes, const int* ids, const float* x,
                          int x_stride, int x_div, float* y, int y_stride, const float* bias, int bias_stride,
                          int n_in, int n_out, int n_pairs) {
    int o0 = blockIdx.x * R;
    int p = blockIdx.y;
    int e = ids[p];
    const u8* base = W + (i64)e * expert_bytes;
    const u8* rows[R];
    float acc[R][MV_TOKENS];
#pragma unroll
    for (int r = 0; r < R; r++) {
        rows[r] = base + (i64)min(o0 + r, n_out - 1) * row_bytes;
#pragma unroll
        for (int t = 0; t < MV_TOKENS; t++) acc[r][t] = 0.f;
    }
    block_dot<O, R, NT, U, XP>(rows, x + (i64)(p / x_div) * x_stride, x_stride, 1, n_in, acc);
    float s = block_sum_rows<R, NT>(acc, 1);
    int r = threadIdx.x / MV_TOKENS, t = threadIdx.x % MV_TOKENS, o = o0 + r;
    if (r < R && t == 0 && o < n_out) y[(i64)p * y_stride + o] = s + (bias ? bias[(i64)e * bias_stride + o] : 0.f);
}

#define MV_ARGS                                                                                                 \
    const u8 *W, i64 row_bytes, const float *x, int x_stride, float *y, int y_stride, const float *bias, int n_in, \
        int n_out, int n_tok
#define MV_ID_ARGS                                                                                              \
    const u8 *W, i64 row_bytes, i64 expert_bytes, const int *ids, const float *x, int x_stride, int x_div,      \
        float *y, int y_stride, const float *bias, int bias_stride, int n_in, int n_out, int n_pairs
#define MV_PASS W, row_bytes, x, x_stride, y, y_stride, bias, n_in, n_out, n_tok
#define MV_ID_PASS \
    W, row_bytes, expert_bytes, ids, x, x_stride, x_div, y, y_stride, bias, bias_stride, n_in, n_out, n_pairs

#define DEFINE_MATVEC(name, O)                                                                                    \
    extern "C" __global__ void __launch_bounds__(MV_THREADS) matvec_##name(MV_ARGS) {                             \
        matvec<O, MV_ROWS, MV_THREADS, MV_UNROLL, false>(MV_PASS);                                                \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(MV_THREADS) matvec1_##name(MV_ARGS) {                            \
        matvec<O, 1, MV_THREADS, MV_UNROLL, false>(MV_PASS);                                                      \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(MV_THREADS) matvec2_##name(MV_ARGS) {                            \
        matvec<O, 2, MV_THREADS, MV_UNROLL, true>(MV_PASS);                                                       \
    }                                                                                                             \
    extern "C" __global__ void __launch_bounds__(MV_THREADS) matvec_id_##name(MV_ID_ARGS) {                       \
        matvec_id<O, MV_ID_ROWS, MV_THREADS, MV_UNROLL, false>(MV_ID_PASS);                                       \
    }
DEFINE_MATVEC(f32, OctF32)
DEFINE_MATVEC(f16, OctF16)
DEFINE_MATVEC(bf16, OctBF16)
DEFINE_MATVEC(q8_0, OctQ8_0)
DEFINE_MATVEC(mxfp4, OctMXFP4)

// The first version of these kernels, kept for Q8_0 and MXFP4 matrices of
// ops.mvWarpRowsMin (8,192) rows and more, where it measured
// faster on an H100 (a Q8_0 output head of 201,088 x 2,880: 2,088 GB/s of
// weights against the block kernel's 1,634; 8,192 x 4,096: Q8_0 2,045
// against 1,661, MXFP4 1,032 against 965): each warp of WARP_WARPS takes
// WARP_ROWS rows of its own and reads them one octet a lane at a time. Its
// octet decoders read the code bytes one or two at a time (get: load and
// decode in one).
struct WarpQ8_0 {
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

struct WarpMXFP4 {
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

#define WARP_WARPS 4
#define WARP_ROWS 4

// warp_rows_dot accumulates acc[r][t] += row_r · x[t] for R rows (rows[r])
// and nt tokens (x 16-byte aligned, x_stride a multiple of 4 floats). The
// activations are loaded once per octet for all rows: re-reading them per
// row made the narrow types bound by L1 bandwidth (an MXFP4 octet is 4.25
// bytes of weights against 32 bytes of activations).
template <typename O, int R>
__device__ __forceinline__ void warp_rows_dot(const u8* const* rows, const float* x, int x_stride, int nt, int n_in,
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

// grid (ceil(n_out/(WARP_WARPS*R)), ceil(n_tok/MV_TOKENS)), block
// 32*WARP_WARPS; each warp computes R consecutive outputs.
template <typename O, int R>
__device__ void warp_matvec(const u8* W, i64 row_bytes, const float* x, int x_stride, float* y, int y_stride,
                       const float* bias, int n_in, int n_out, int n_tok) {
    int lane = threadIdx.x & 31;
    int o0 = (blockIdx.x * WARP_WARPS + (threadIdx.x >> 5)) * R;
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
    warp_rows_dot<O, R>(rows, x + (i64)t0 * x_stride, x_stride, nt, n_in, acc);
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

#define DEFINE_MATVEC_WARP(name, O)                                                           \
    extern "C" __global__ void matvec_warp_##name(MV_ARGS) { warp_matvec<O, WARP_ROWS>(MV_PASS); }
DEFINE_MATVEC_WARP(q8_0, WarpQ8_0)
DEFINE_MATVEC_WARP(mxfp4, WarpMXFP4)
