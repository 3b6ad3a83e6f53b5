/* tinygen runtime: in-place capable fast int8 1x1 convolution; contract in tg_inplace_conv1x1_s8_fast.h. */
#include "tg_inplace_conv1x1_s8_fast.h"

#include <string.h>

#include "tg_gemm_s8_fast.h"

int32_t tg_inplace_conv1x1_s8_fast_get_buffer_size(int32_t in_c, int32_t wide)
{
    /* one input pixel, copied out before its output overwrites it (extended: two words per 4 values) */
    return wide == TG_GEMM_EXTEND ? 2 * in_c : in_c;
}

int tg_inplace_conv1x1_s8_fast(int8_t *scratch, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t pixels, int32_t in_c, const int8_t *input, const int32_t *filter, int32_t wide,
    const int32_t *quant, int32_t rq_words, int32_t out_c, int8_t *output)
{
    if (scratch == NULL || pixels < 0 || in_c <= 0 || (in_c & 3) != 0 || out_c <= 0) {
        return TG_ERROR;
    }
    const int32_t backward = out_c >= in_c;
    if (wide == TG_GEMM_EXTEND) {
        tg_gemm_s8_fast_x_pixels((uint32_t *)(void *)scratch, input, pixels, backward, in_c >> 2, filter, quant,
                                 rq_words, output_offset, act_min, act_max, out_c, output);
        return TG_OK;
    }
    for (int32_t n = 0; n < pixels; ++n) {
        const int32_t p = backward ? pixels - 1 - n : n;
        memcpy(scratch, input + p * in_c, (size_t)in_c);
        tg_gemm_s8_fast(scratch, in_c >> 2, filter, wide, quant, rq_words, output_offset, act_min, act_max,
                        out_c, output + p * out_c);
    }
    return TG_OK;
}
