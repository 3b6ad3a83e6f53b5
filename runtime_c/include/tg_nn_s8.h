/* tinygen runtime: helpers of the portable int8 conv / FC kernels (tg_conv2d_s8.c, tg_depthwise_conv2d_s8.c,
 * tg_fully_connected_s8.c and the in-place variants): the per-channel output step and the dot
 * product of one input row with every filter row.
 */
#ifndef TG_NN_S8_H
#define TG_NN_S8_H

#include "tg_common.h"

/* The int8 output of channel c of the portable conv / FC kernels (TFLM's per-channel epilogue):
 *   clamp(tg_requantize(acc + bias[c], mult[k], shift[k]) + output_offset, act_min, act_max)
 * with k = c when per_channel != 0, else 0; bias may be NULL. */
static inline int8_t tg_finish_s8(int32_t acc, const int32_t *bias, int32_t c, const int32_t *mult,
                                  const int32_t *shift, int32_t per_channel, int32_t output_offset,
                                  int32_t act_min, int32_t act_max)
{
    if (bias != NULL) {
        acc += bias[c];
    }
    const int32_t k = per_channel ? c : 0;
    return (int8_t)tg_clamp(tg_requantize(acc, mult[k], shift[k]) + output_offset, act_min, act_max);
}


/* One input row against every filter row (FULLY_CONNECTED, 1x1 convolution), for o < out_depth:
 *   out[o] = tg_finish_s8(sum over i < depth of (in[i] + input_offset) * (filter[o * depth + i] + filter_offset), o)
 */
static inline void tg_fc_row_s8(const int8_t *in, int32_t depth, const int8_t *filter, int32_t out_depth,
                                int32_t input_offset, int32_t filter_offset, const int32_t *bias,
                                const int32_t *mult, const int32_t *shift, int32_t per_channel,
                                int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    for (int32_t o = 0; o < out_depth; ++o) {
        const int8_t *w_row = filter + o * depth;
        int32_t acc = 0;
        for (int32_t i = 0; i < depth; ++i) {
            acc += (in[i] + input_offset) * (w_row[i] + filter_offset);
        }
        out[o] = tg_finish_s8(acc, bias, o, mult, shift, per_channel, output_offset, act_min, act_max);
    }
}

#endif /* TG_NN_S8_H */
