// Prefill attention for 64-wide heads over the half-precision KV cache,
// tiled: one block of ATT_T_THREADS per (head, 64 queries), keys and values
// in tiles of 64 rows converted to float in shared memory once per block
// and read by all its queries. attention.cu's kernel (one block per head
// and query) reads every key row once per query, and each thread walks its
// own key row element by element; in a 512-token prompt that kernel was
// 30% of the GPU time of gpt-oss-20b (docs/results). Same function as
// attention_f16 (its argument list too): causal, sliding window, GQA,
// optional sinks, the ring of `cells` rows (position j in row j % cells).
//
// Two threads per query: both hold the query (64 floats), each scores the
// tile's even or odd keys (so a warp's 16 query pairs read the same two key
// rows: broadcasts), the pair exchanges maxima, sums and probabilities by
// shuffles, and each accumulates half of the output dims. Online softmax in
// float32 as attention_f16.
#include "common.cuh"

#define ATT_T_THREADS 128
#define ATT_T_Q 64  // queries per block
#define ATT_T_K 64  // keys per tile
#define ATT_T_D 64  // head size (dk = dv)

// grid (n_head, ceil(n_tok / ATT_T_Q)), block ATT_T_THREADS.
extern "C" __global__ void __launch_bounds__(ATT_T_THREADS) attention_f16_tiled(
    const float* q, int q_tok_stride, int q_head_stride, const __half* k, int k_pos_stride, int k_head_stride,
    const __half* v, int v_pos_stride, int v_head_stride, float* out, int o_tok_stride, int o_head_stride,
    const float* sinks, int n_tok, int n_head, int n_head_kv, int dk, int dv, int pos0, int window, int cells,
    float scale) {
    // K rows padded by one float4: rows 2j and 2j+1 start in different banks.
    __shared__ float4 ks[ATT_T_K][ATT_T_D / 4 + 1];
    __shared__ float4 vs[ATT_T_K][ATT_T_D / 4];
    int h = blockIdx.x, t0 = blockIdx.y * ATT_T_Q, tid = threadIdx.x;
    int qi = tid >> 1, hh = tid & 1;
    int t = min(t0 + qi, n_tok - 1);  // threads past the batch recompute its last query, unwritten
    bool valid = t0 + qi < n_tok;
    int kvh = h / (n_head / n_head_kv);
    const __half* kb = k + (i64)kvh * k_head_stride;
    const __half* vb = v + (i64)kvh * v_head_stride;

    float qv[ATT_T_D];
    const float4* qr = (const float4*)(q + (i64)t * q_tok_stride + (i64)h * q_head_stride);
#pragma unroll
    for (int i = 0; i < ATT_T_D / 4; i++) {
        float4 x = qr[i];
        qv[4 * i] = x.x * scale, qv[4 * i + 1] = x.y * scale, qv[4 * i + 2] = x.z * scale, qv[4 * i + 3] = x.w * scale;
    }
    int p = pos0 + t;
    int jlo_q = (window > 0 && p - window + 1 > 0) ? p - window + 1 : 0;
    int p_first = pos0 + t0, p_last = pos0 + min(t0 + ATT_T_Q, n_tok) - 1;
    int jlo = (window > 0 && p_first - window + 1 > 0) ? p_first - window + 1 : 0;

    float m = sinks ? sinks[h] : -INFINITY;
    float l = sinks ? 1.f : 0.f;
    float acc[ATT_T_D / 2];
#pragma unroll
    for (int d = 0; d < ATT_T_D / 2; d++) acc[d] = 0.f;

    for (int j0 = jlo; j0 <= p_last; j0 += ATT_T_K) {
        // Load the tile: thread tid converts half a row of K and of V. Rows
        // past the last query's position are zeroed: their scores are
        // masked, and a stale NaN in V would survive a zero weight.
        {
            int r = tid >> 1, c4 = (tid & 1) * (ATT_T_D / 8);
            int j = j0 + r;
            if (j <= p_last) {
                const __half2* kr = (const __half2*)(kb + (i64)(j % cells) * k_pos_stride) + 2 * c4;
                const __half2* vr = (const __half2*)(vb + (i64)(j % cells) * v_pos_stride) + 2 * c4;
#pragma unroll
                for (int i = 0; i < ATT_T_D / 8; i++) {
                    float2 a = __half22float2(kr[2 * i]), b = __half22float2(kr[2 * i + 1]);
                    ks[r][c4 + i] = make_float4(a.x, a.y, b.x, b.y);
                    a = __half22float2(vr[2 * i]), b = __half22float2(vr[2 * i + 1]);
                    vs[r][c4 + i] = make_float4(a.x, a.y, b.x, b.y);
                }
            } else {
#pragma unroll
                for (int i = 0; i < ATT_T_D / 8; i++) ks[r][c4 + i] = vs[r][c4 + i] = make_float4(0.f, 0.f, 0.f, 0.f);
            }
        }
        __syncthreads();
        float s[ATT_T_K / 2];
        float mt = -INFINITY;
#pragma unroll
        for (int kk = 0; kk < ATT_T_K / 2; kk++) {
            int jj = 2 * kk + hh, j = j0 + jj;
            float d = 0.f;
#pragma unroll
            for (int i = 0; i < ATT_T_D / 4; i++) {
                float4 kx = ks[jj][i];
                d += qv[4 * i] * kx.x + qv[4 * i + 1] * kx.y + qv[4 * i + 2] * kx.z + qv[4 * i + 3] * kx.w;
            }
            s[kk] = (j <= p && j >= jlo_q) ? d : -INFINITY;
            mt = fmaxf(mt, s[kk]);
        }
        // Every lane runs every shuffle below (no divergence around them):
        // a query that sees no key yet (and has no sink) keeps m, l, acc.
        mt = fmaxf(mt, __shfl_xor_sync(FULL_MASK, mt, 1));
        float mn = fmaxf(m, mt);
        bool none = mn == -INFINITY;
        float corr = none ? 1.f : expf(m - mn);  // 0 when m is -inf
        float lt = 0.f;
#pragma unroll
        for (int kk = 0; kk < ATT_T_K / 2; kk++) {
            s[kk] = s[kk] == -INFINITY ? 0.f : expf(s[kk] - mn);
            lt += s[kk];
        }
        lt += __shfl_xor_sync(FULL_MASK, lt, 1);
        l = l * corr + lt;
        m = none ? m : mn;
#pragma unroll
        for (int d = 0; d < ATT_T_D / 2; d++) acc[d] *= corr;
#pragma unroll
        for (int kk = 0; kk < ATT_T_K / 2; kk++) {
            float mine = s[kk], other = __shfl_xor_sync(FULL_MASK, mine, 1);
            float pe = hh ? other : mine, po = hh ? mine : other;  // keys 2kk, 2kk+1
#pragma unroll
            for (int d4 = 0; d4 < ATT_T_D / 8; d4++) {
                float4 a = vs[2 * kk][hh * (ATT_T_D / 8) + d4], b = vs[2 * kk + 1][hh * (ATT_T_D / 8) + d4];
                acc[4 * d4] += pe * a.x + po * b.x;
                acc[4 * d4 + 1] += pe * a.y + po * b.y;
                acc[4 * d4 + 2] += pe * a.z + po * b.z;
                acc[4 * d4 + 3] += pe * a.w + po * b.w;
            }
        }
        __syncthreads();  // the tile is rewritten next
    }
    if (valid) {
        float* orow = out + (i64)t * o_tok_stride + (i64)h * o_head_stride + hh * (ATT_T_D / 2);
#pragma unroll
        for (int d = 0; d < ATT_T_D / 2; d++) orow[d] = acc[d] / l;
    }
}
