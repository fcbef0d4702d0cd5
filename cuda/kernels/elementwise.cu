// Element-wise kernels: add (with row broadcast), scale, and the weighted
// sum of expert outputs. grid-stride loops, block 256.
#include "common.cuh"

// y[i] = a[i] + b[i % nb]  (nb = n: element-wise; nb = row length: bias)
extern "C" __global__ void add_f32(const float* a, const float* b, float* y, int n, int nb) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] = a[i] + b[i % nb];
}

// y[i] = a[i] * s
extern "C" __global__ void scale_f32(const float* a, float* y, int n, float s) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] = a[i] * s;
}

// out[t, d] (+)= sum_s w[t*k + s] * ys[(t*k + s)*n + d], slots in order.
// grid (ceil(n/256), n_tok).
extern "C" __global__ void moe_sum_f32(const float* ys, const float* w, float* out, int n, int k, int n_tok,
                                       int accumulate) {
    int t = blockIdx.y;
    int d = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n_tok || d >= n) return;
    float acc = accumulate ? out[(i64)t * n + d] : 0.f;
    for (int s = 0; s < k; s++) acc += w[t * k + s] * ys[((i64)t * k + s) * n + d];
    out[(i64)t * n + d] = acc;
}
