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
