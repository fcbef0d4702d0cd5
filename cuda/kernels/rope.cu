// Rotary position embedding, in place. The frequency table inv_freq (n_rot/2
// floats) carries the variant: plain, YaRN or LongRoPE tables are computed
// on the host; mscale multiplies cos and sin. neox != 0 rotates the pairs
// (i, i + n_rot/2), else the adjacent pairs (2i, 2i+1). The rotated dims of
// each head start at rot_off (deepseek2 rotates the last r dims only).
#include "common.cuh"

// grid (n_head, n_tok), block 64.
extern "C" __global__ void rope_f32(float* x, int tok_stride, int head_stride, int n_head, int n_tok, int rot_off,
                                    int n_rot, const int* pos, const float* inv_freq, float mscale, int neox) {
    int h = blockIdx.x, t = blockIdx.y;
    if (h >= n_head || t >= n_tok) return;
    float* v = x + (i64)t * tok_stride + (i64)h * head_stride + rot_off;
    float p = (float)pos[t];
    int half_rot = n_rot / 2;
    for (int i = threadIdx.x; i < half_rot; i += blockDim.x) {
        float s, c;
        sincosf(p * inv_freq[i], &s, &c);
        c *= mscale;
        s *= mscale;
        int ia = neox ? i : 2 * i;
        int ib = neox ? i + half_rot : 2 * i + 1;
        float a = v[ia], b = v[ib];
        v[ia] = a * c - b * s;
        v[ib] = a * s + b * c;
    }
}
