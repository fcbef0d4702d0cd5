// Embedding rows: out[r, c] = W[ids[r], c], decoding the table's type.
#include "common.cuh"

template <typename D>
__device__ void get_rows(const u8* W, i64 row_bytes, const int* ids, float* out, int n_cols, int n_rows) {
    int r = blockIdx.y;
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= n_rows || c >= n_cols) return;
    const u8* row = W + (i64)ids[r] * row_bytes;
    out[(i64)r * n_cols + c] = D::get(row, c);
}

// grid (ceil(n_cols/256), n_rows), block 256.
#define DEFINE_GET_ROWS(name, D, U)                                                                  \
    extern "C" __global__ void get_rows_##name(const u8* W, i64 row_bytes, const int* ids, float* out, \
                                               int n_cols, int n_rows) {                              \
        get_rows<D>(W, row_bytes, ids, out, n_cols, n_rows);                                         \
    }
FOR_EACH_WEIGHT_TYPE(DEFINE_GET_ROWS)
