/* tinygen runtime: portable int8 fully connected layer; contract in tg_fully_connected_s8.h. */
#include "tg_fully_connected_s8.h"

#include "tg_nn_s8.h"

int32_t tg_fully_connected_s8_get_buffer_size(int32_t accum_depth)
{
    (void)accum_depth;
    return 0;
}

int tg_fully_connected_s8(int8_t *scratch, int32_t input_offset, int32_t filter_offset, int32_t output_offset,
    int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t per_channel,
    int32_t batches, int32_t accum_depth, const int8_t *input, int32_t out_depth, const int8_t *filter,
    const int32_t *bias, int8_t *output)
{
    (void)scratch;
    for (int32_t b = 0; b < batches; ++b) {
        tg_fc_row_s8(input + b * accum_depth, accum_depth, filter, out_depth, input_offset, filter_offset, bias, mult,
                     shift, per_channel, output_offset, act_min, act_max, output + b * out_depth);
    }
    return TG_OK;
}
