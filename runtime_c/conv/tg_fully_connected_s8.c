/* tinygen runtime: portable int8 fully connected layer; contract in tg_fully_connected_s8.h. */
#include "tg_fully_connected_s8.h"

int32_t tg_fully_connected_s8_get_buffer_size(int32_t accum_depth)
{
    (void)accum_depth;
    return 0;
}

int tg_fully_connected_s8(int8_t *scratch,
                          int32_t input_offset, int32_t filter_offset, int32_t output_offset,
                          int32_t act_min, int32_t act_max,
                          const int32_t *mult, const int32_t *shift, int32_t per_channel,
                          int32_t batches, int32_t accum_depth, const int8_t *input,
                          int32_t out_depth, const int8_t *filter,
                          const int32_t *bias,
                          int8_t *output)
{
    (void)scratch;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in_row = input + b * accum_depth;
        int8_t *out_row = output + b * out_depth;
        for (int32_t o = 0; o < out_depth; ++o) {
            const int8_t *w_row = filter + o * accum_depth;
            int32_t acc = 0;
            for (int32_t i = 0; i < accum_depth; ++i) {
                acc += (w_row[i] + filter_offset) * (in_row[i] + input_offset);
            }
            if (bias != NULL) {
                acc += bias[o];
            }
            const int32_t k = per_channel ? o : 0;
            const int32_t out = tg_requantize(acc, mult[k], shift[k]) + output_offset;
            out_row[o] = (int8_t)tg_clamp(out, act_min, act_max);
        }
    }
    return TG_OK;
}
