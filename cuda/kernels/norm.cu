// RMSNorm and LayerNorm over rows of n floats. One block (256 threads) per
// row; w and b may be null (1 and 0).
#include "common.cuh"

// y = x / sqrt(mean(x^2) + eps) * w
extern "C" __global__ void rms_norm_f32(const float* x, int x_stride, float* y, int y_stride, const float* w,
                                        int n, float eps) {
    __shared__ float scratch[32];
    const float* xr = x + (i64)blockIdx.x * x_stride;
    float* yr = y + (i64)blockIdx.x * y_stride;
    float ss = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum(ss, scratch);
    float inv = rsqrtf(ss / (float)n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) yr[i] = xr[i] * inv * (w ? w[i] : 1.f);
}

// y = (x - mean) / sqrt(var + eps) * w + b, var biased (divided by n).
extern "C" __global__ void layer_norm_f32(const float* x, int x_stride, float* y, int y_stride, const float* w,
                                          const float* b, int n, float eps) {
    __shared__ float scratch[32];
    const float* xr = x + (i64)blockIdx.x * x_stride;
    float* yr = y + (i64)blockIdx.x * y_stride;
    float s = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) s += xr[i];
    float mean = block_sum(s, scratch) / (float)n;
    float v = 0.f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        float d = xr[i] - mean;
        v += d * d;
    }
    float inv = rsqrtf(block_sum(v, scratch) / (float)n + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        yr[i] = (xr[i] - mean) * inv * (w ? w[i] : 1.f) + (b ? b[i] : 0.f);
}
