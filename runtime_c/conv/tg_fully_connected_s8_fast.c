/* tinygen runtime: fast int8 fully connected layer; contract in tg_fully_connected_s8_fast.h. */
#include "tg_fully_connected_s8_fast.h"

#include "tg_gemm_s8_fast.h"

int tg_fully_connected_s8_fast(int32_t output_offset, int32_t act_min, int32_t act_max, int32_t batches,
    int32_t accum_depth, const int8_t *input, int32_t out_depth, const int32_t *filter, int32_t wide,
    const int32_t *quant, int32_t rq_words, int8_t *output)
{
    for (int32_t b = 0; b < batches; ++b) {
        tg_gemm_s8_fast(input + b * accum_depth, accum_depth >> 2, filter, wide, quant, rq_words, output_offset,
                        act_min, act_max, out_depth, output + b * out_depth);
    }
    return TG_OK;
}

int32_t tg_fully_connected_s8_fast_x_get_buffer_size(int32_t accum_depth)
{
    return 2 * accum_depth; /* one input row extended: two words per 4 values */
}

int tg_fully_connected_s8_fast_x(int8_t *scratch, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t batches, int32_t accum_depth, const int8_t *input, int32_t out_depth, const int32_t *filter,
    int32_t wide, const int32_t *quant, int32_t rq_words, int8_t *output)
{
    uint32_t *colx = (uint32_t *)(void *)scratch;
    for (int32_t b = 0; b < batches; ++b) {
        const uint32_t corr = tg_gemm_s8_extend(input + b * accum_depth, accum_depth >> 2, wide, colx);
        tg_gemm_s8_fast_x(colx, accum_depth >> 2, filter, wide, corr, quant, rq_words, output_offset, act_min,
                          act_max, out_depth, output + b * out_depth);
    }
    return TG_OK;
}
