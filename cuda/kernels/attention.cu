// Attention over a float32 KV cache, for decode (n_tok = 1) and prefill.
// Query t sits at position pos0 + t and sees keys j <= pos0 + t, and with a
// sliding window (window > 0) only keys with pos0 + t - j < window. GQA maps
// head h to kv head h / (n_head / n_head_kv). An optional per-head sink
// logit joins the softmax denominator unscaled (gpt-oss). dk and dv may
// differ (MLA); K and V may alias (absorbed MLA reads V from the K rows).
// One block of ATT_THREADS per (head, token); keys in tiles of ATT_THREADS
// with an online softmax, so any context length fits.
#include "common.cuh"

#define ATT_THREADS 128
#define ATT_MAX_DK 1024
#define ATT_ACC 4  // output dims per thread: dv <= ATT_THREADS * ATT_ACC

// grid (n_head, n_tok), block ATT_THREADS.
extern "C" __global__ void attention_f32(const float* q, int q_tok_stride, int q_head_stride, const float* k,
                                         int k_pos_stride, int k_head_stride, const float* v, int v_pos_stride,
                                         int v_head_stride, float* out, int o_tok_stride, int o_head_stride,
                                         const float* sinks, int n_tok, int n_head, int n_head_kv, int dk, int dv,
                                         int pos0, int window, float scale) {
    __shared__ float qs[ATT_MAX_DK];
    __shared__ float ps[ATT_THREADS];
    __shared__ float scratch[32];
    int h = blockIdx.x, t = blockIdx.y, tid = threadIdx.x;
    if (h >= n_head || t >= n_tok) return;
    int kvh = h / (n_head / n_head_kv);
    const float* qr = q + (i64)t * q_tok_stride + (i64)h * q_head_stride;
    for (int i = tid; i < dk; i += ATT_THREADS) qs[i] = qr[i];
    __syncthreads();

    int p = pos0 + t;
    int jlo = (window > 0 && p - window + 1 > 0) ? p - window + 1 : 0;
    const float* kb = k + (i64)kvh * k_head_stride;
    const float* vb = v + (i64)kvh * v_head_stride;

    // Running max m and denominator l; a sink starts them at (sink, 1).
    float m = sinks ? sinks[h] : -INFINITY;
    float l = sinks ? 1.f : 0.f;
    float acc[ATT_ACC];
#pragma unroll
    for (int r = 0; r < ATT_ACC; r++) acc[r] = 0.f;

    for (int j0 = jlo; j0 <= p; j0 += ATT_THREADS) {
        int j = j0 + tid;
        float s = -INFINITY;
        if (j <= p) {
            const float* kr = kb + (i64)j * k_pos_stride;
            float d = 0.f;
            for (int i = 0; i < dk; i++) d += qs[i] * kr[i];
            s = d * scale;
        }
        float mt = block_max(s, scratch);
        float mn = fmaxf(m, mt);
        float e = j <= p ? expf(s - mn) : 0.f;
        ps[tid] = e;
        float lt = block_sum(e, scratch);  // its barriers also publish ps
        float corr = expf(m - mn);          // 0 when m is -inf (mn is finite)
        l = l * corr + lt;
        m = mn;
        int nj = min(ATT_THREADS, p - j0 + 1);
#pragma unroll
        for (int r = 0; r < ATT_ACC; r++) {
            int dd = tid + r * ATT_THREADS;
            if (dd < dv) {
                float a = acc[r] * corr;
                for (int jj = 0; jj < nj; jj++) a += ps[jj] * vb[(i64)(j0 + jj) * v_pos_stride + dd];
                acc[r] = a;
            }
        }
        __syncthreads();  // ps is rewritten by the next tile
    }
    float* orow = out + (i64)t * o_tok_stride + (i64)h * o_head_stride;
#pragma unroll
    for (int r = 0; r < ATT_ACC; r++) {
        int dd = tid + r * ATT_THREADS;
        if (dd < dv) orow[dd] = acc[r] / l;
    }
}
