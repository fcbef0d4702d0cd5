// MoE routing: from router logits to k expert ids and weights per token.
// One thread per token (E is at most a few hundred, k at most 8).
//   mode 0 softmax_topk:  p = softmax(z) over all E; top-k of p; w = p (deepseek)
//   mode 1 topk_softmax:  top-k of z; w = softmax over the k (gpt-oss)
//   mode 2 sparsemixer:   phimoe's top-2 with a 2*eps relative mask (k = 2)
//   mode 3 sigmoid_topk:  p = sigmoid(z); top-k of p; w = p
// Then, for modes 0 and 3, norm != 0 divides w by its sum; every mode
// multiplies w by scale. Ties go to the lower expert index.
#include "common.cuh"

#define ROUTER_MAX_EXPERTS 512

// argmax of z over experts not yet taken (first maximum wins).
__device__ int pick_max(const float* z, int n, const u32* taken) {
    int best = -1;
    float bv = -INFINITY;
    for (int j = 0; j < n; j++) {
        if (taken[j >> 5] & (1u << (j & 31))) continue;
        if (best < 0 || z[j] > bv) {
            best = j;
            bv = z[j];
        }
    }
    return best;
}

// grid ceil(n_tok/64), block 64.
extern "C" __global__ void router_f32(const float* logits, int n_exp, int k, int mode, int norm, float scale,
                                      float eps, int* ids_out, float* w_out, int n_tok) {
    int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n_tok) return;
    const float* z = logits + (i64)t * n_exp;
    int* ids = ids_out + t * k;
    float* w = w_out + t * k;
    u32 taken[ROUTER_MAX_EXPERTS / 32];
    for (int i = 0; i < ROUTER_MAX_EXPERTS / 32; i++) taken[i] = 0;

    if (mode == 2) {  // sparsemixer, k = 2
        int e1 = pick_max(z, n_exp, taken);
        float m1 = z[e1], den = 0.f;
        for (int j = 0; j < n_exp; j++)
            if (!((m1 - z[j]) / fmaxf(fabsf(z[j]), m1) > 2.f * eps)) den += expf(z[j] - m1);
        ids[0] = e1;
        w[0] = scale / den;  // exp(z[e1] - m1) = 1
        taken[e1 >> 5] |= 1u << (e1 & 31);
        int e2 = pick_max(z, n_exp, taken);
        float m2 = z[e2];
        den = 0.f;
        for (int j = 0; j < n_exp; j++)
            if (j != e1 && !((m2 - z[j]) / fmaxf(fabsf(z[j]), m2) > 2.f * eps)) den += expf(z[j] - m2);
        ids[1] = e2;
        w[1] = scale / den;
        return;
    }

    if (mode == 1) {  // top-k of the logits, softmax over the selected
        float m = -INFINITY;
        for (int s = 0; s < k; s++) {
            int e = pick_max(z, n_exp, taken);
            taken[e >> 5] |= 1u << (e & 31);
            ids[s] = e;
            m = fmaxf(m, z[e]);
        }
        float den = 0.f;
        for (int s = 0; s < k; s++) den += expf(z[ids[s]] - m);
        for (int s = 0; s < k; s++) w[s] = expf(z[ids[s]] - m) / den * scale;
        return;
    }

    // modes 0 and 3: select on the probabilities; softmax is monotonic, so
    // selecting on z picks the same experts (and the same ties).
    float m = -INFINITY, den = 0.f;
    if (mode == 0) {
        for (int j = 0; j < n_exp; j++) m = fmaxf(m, z[j]);
        for (int j = 0; j < n_exp; j++) den += expf(z[j] - m);
    }
    float sum = 0.f;
    for (int s = 0; s < k; s++) {
        int e = pick_max(z, n_exp, taken);
        taken[e >> 5] |= 1u << (e & 31);
        ids[s] = e;
        float p = mode == 0 ? expf(z[e] - m) / den : 1.f / (1.f + expf(-z[e]));
        w[s] = p;
        sum += p;
    }
    for (int s = 0; s < k; s++) w[s] = (norm ? w[s] / sum : w[s]) * scale;
}
