/* tinygen runtime: in-place capable int8 1x1 convolution; contract in tg_inplace_conv1x1_s8.h. */
#include "tg_inplace_conv1x1_s8.h"

#include "tg_nn_s8.h"

int32_t tg_inplace_conv1x1_s8_get_buffer_size(int32_t in_c)
{
    return in_c;
}

int tg_inplace_conv1x1_s8(int8_t *scratch, int32_t input_offset, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t per_channel, int32_t pixels,
    int32_t in_c, const int8_t *input, const int8_t *filter, const int32_t *bias, int32_t out_c,
    int8_t *output)
{
    if (scratch == NULL || pixels < 0 || in_c <= 0 || out_c <= 0) {
        return TG_ERROR;
    }
    const int32_t backward = out_c >= in_c;
    for (int32_t n = 0; n < pixels; ++n) {
        const int32_t p = backward ? pixels - 1 - n : n;
        const int8_t *in_row = input + p * in_c;
        for (int32_t ic = 0; ic < in_c; ++ic) {
            scratch[ic] = in_row[ic];
        }
        tg_fc_row_s8(scratch, in_c, filter, out_c, input_offset, 0, bias, mult, shift, per_channel, output_offset,
                     act_min, act_max, output + p * out_c);
    }
    return TG_OK;
}
