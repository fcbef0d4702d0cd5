// Gated activations of the FFNs. mode 0: silu(g) * u (llama, phimoe,
// deepseek). mode 1: gpt-oss "oai" variant: g = min(g, limit),
// u = clamp(u, -limit, limit), y = g * sigmoid(alpha * g) * (u + 1).
#include "common.cuh"

// grid (ceil(n/256), n_rows), block 256.
extern "C" __global__ void swiglu_f32(const float* g, int g_stride, const float* u, int u_stride, float* y,
                                      int y_stride, int n, int n_rows, int mode, float alpha, float limit) {
    int r = blockIdx.y;
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n_rows || i >= n) return;
    float gv = g[(i64)r * g_stride + i];
    float uv = u[(i64)r * u_stride + i];
    float out;
    if (mode == 1) {
        gv = fminf(gv, limit);
        uv = fminf(fmaxf(uv, -limit), limit);
        out = gv / (1.f + expf(-alpha * gv)) * (uv + 1.f);
    } else {
        out = gv / (1.f + expf(-gv)) * uv;
    }
    y[(i64)r * y_stride + i] = out;
}
