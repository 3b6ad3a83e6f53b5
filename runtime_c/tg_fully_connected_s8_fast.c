/* tinygen runtime: fast int8 fully connected layer; contract in tg_fully_connected_s8_fast.h. */
#include "tg_fully_connected_s8_fast.h"

#include "tg_gemm_s8_fast.h"

int32_t tg_fully_connected_s8_fast_get_buffer_size(int32_t accum_depth)
{
    return 4 * accum_depth;
}

int tg_fully_connected_s8_fast(int8_t *scratch,
                               int32_t output_offset, int32_t act_min, int32_t act_max,
                                                              int32_t batches, int32_t accum_depth, const int8_t *input,
                               int32_t out_depth, const int32_t *filter, const int32_t *quant,
                                        int8_t *output)
{
    uint32_t *cols = (uint32_t *)(void *)scratch;
    for (int32_t b = 0; b < batches; b += 2) {
        const int32_t n_cols = b + 1 < batches ? 2 : 1;
        for (int32_t j = 0; j < n_cols; ++j) {
            tg_gemm_cols_s8(input + (b + j) * accum_depth, accum_depth, cols + 2 * j, 2 * n_cols);
        }
        tg_gemm_s8_fast(cols, n_cols, accum_depth >> 2, filter, quant, output_offset, act_min,
                        act_max, out_depth, output + b * out_depth, output + (b + 1) * out_depth);
    }
    return TG_OK;
}
