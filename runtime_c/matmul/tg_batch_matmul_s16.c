/* tinygen runtime: int16 BATCH_MATMUL; contract in tg_batch_matmul.h. */
#include "tg_batch_matmul.h"

#include "tg_requant_s16.h"

int32_t tg_batch_matmul_s16_get_buffer_size(int32_t rows, int32_t depth, int32_t cols, int32_t lhs_t, int32_t rhs_t)
{
    return 2 * ((lhs_t ? rows * depth : 0) + (rhs_t ? cols * depth : 0));
}

/* src [n][m] row-major -> dst [m][n] */
static void tg_bmm_transpose_s16(const int16_t *src, int32_t n, int32_t m, int16_t *dst)
{
    for (int32_t i = 0; i < n; ++i) {
        for (int32_t j = 0; j < m; ++j) {
            dst[j * n + i] = src[i * m + j];
        }
    }
}

int tg_batch_matmul_s16(int8_t *scratch, int32_t batches, const int32_t *batch_offsets, int32_t rows, int32_t depth, int32_t cols,
    int32_t lhs_t, int32_t rhs_t, int32_t mult, int32_t shift, const int16_t *lhs, const int16_t *rhs,
    int16_t *output)
{
    int16_t *lhs_buf = (int16_t *)(void *)scratch; /* the arena aligns scratch */
    int16_t *rhs_buf = lhs_buf + (lhs_t ? rows * depth : 0);
    for (int32_t b = 0; b < batches; ++b) {
        const int16_t *L = lhs + batch_offsets[2 * b];
        const int16_t *R = rhs + batch_offsets[2 * b + 1];
        if (lhs_t) {
            tg_bmm_transpose_s16(L, depth, rows, lhs_buf);
            L = lhs_buf;
        }
        if (rhs_t) {
            tg_bmm_transpose_s16(R, depth, cols, rhs_buf);
            R = rhs_buf;
        }
        int16_t *out = output + b * rows * cols;
        for (int32_t a = 0; a < rows; ++a) {
            for (int32_t c = 0; c < cols; ++c) {
                const int16_t *x = L + a * depth, *y = R + c * depth;
                int64_t acc = 0;
                for (int32_t k = 0; k < depth; ++k) {
                    acc += (int32_t)x[k] * (int32_t)y[k];
                }
                out[a * cols + c] = (int16_t)tg_clamp(tg_requantize64(acc, mult, shift), INT16_MIN, INT16_MAX);
            }
        }
    }
    return TG_OK;
}
