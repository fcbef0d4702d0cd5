// Attention over a half-precision KV cache, for decode (n_tok = 1) and
// prefill, and the kernel that stores new float32 K/V rows into it.
//
// The cache of a layer is a ring of `cells` rows: position j lives in row
// j % cells. A full-attention layer has cells >= every position it will
// hold (the ring never wraps); a sliding-window layer keeps window + the
// largest batch, so the n rows a batch stores never overwrite a key that a
// query of the same batch still sees (needs cells >= window + n - 1).
//
// Query t sits at position pos0 + t and sees keys j <= pos0 + t, and with a
// sliding window (window > 0) only keys with pos0 + t - j < window. GQA maps
// head h to kv head h / (n_head / n_head_kv). An optional per-head sink
// logit joins the softmax denominator unscaled (gpt-oss). dk and dv may
// differ (MLA); K and V may alias (absorbed MLA reads V from the K rows).
// One block of ATT_THREADS per (head, token); keys in tiles of ATT_THREADS
// with an online softmax, so any context length fits. Scores and sums are
// float32; only the cached K/V are half (as llama.cpp's default f16 cache).
#include "common.cuh"

#define ATT_THREADS 128
#define ATT_MAX_DK 1024
#define ATT_ACC 4  // output dims per thread: dv <= ATT_THREADS * ATT_ACC

// grid (n_head, n_tok), block ATT_THREADS. Strides are in elements.
extern "C" __global__ void attention_f16(const float* q, int q_tok_stride, int q_head_stride, const __half* k,
                                         int k_pos_stride, int k_head_stride, const __half* v, int v_pos_stride,
                                         int v_head_stride, float* out, int o_tok_stride, int o_head_stride,
                                         const float* sinks, int n_tok, int n_head, int n_head_kv, int dk, int dv,
                                         int pos0, int window, int cells, float scale) {
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
    const __half* kb = k + (i64)kvh * k_head_stride;
    const __half* vb = v + (i64)kvh * v_head_stride;

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
            const __half* kr = kb + (i64)(j % cells) * k_pos_stride;
            float d = 0.f;
            for (int i = 0; i < dk; i++) d += qs[i] * __half2float(kr[i]);
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
                for (int jj = 0; jj < nj; jj++)
                    a += ps[jj] * __half2float(vb[(i64)((j0 + jj) % cells) * v_pos_stride + dd]);
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

// kv_store_f16 converts n_tok rows of width float32 values (src_stride
// floats apart) to half (round to nearest even) and writes row t into cache
// row (pos0 + t) % cells (dst_stride halves apart).
// grid (ceil(width / 256), n_tok), block 256.
extern "C" __global__ void kv_store_f16(const float* src, int src_stride, __half* dst, int dst_stride, int width,
                                        int n_tok, int pos0, int cells) {
    int i = blockIdx.x * blockDim.x + threadIdx.x, t = blockIdx.y;
    if (i >= width || t >= n_tok) return;
    int row = (pos0 + t) % cells;
    dst[(i64)row * dst_stride + i] = __float2half_rn(src[(i64)t * src_stride + i]);
}
