/* tinygen runtime: 16x8 FULLY_CONNECTED (int16 input and output, int8 weights, int64 bias).
 *
 *   acc[b][o] = bias[o] + sum_k (filter[o][k] + filter_offset) * input[b][k]     (int64)
 *   out[b][o] = clamp(tg_requantize64(acc, mult[c], shift[c]), act_min, act_max)
 * with c = o when per_channel, else 0. Activations are symmetric (zero point 0), so there is no
 * input or output offset. filter is (out_depth, accum_depth) row-major; bias may be NULL.
 * No scratch. Returns TG_OK.
 */
#ifndef TG_FULLY_CONNECTED_S16_H
#define TG_FULLY_CONNECTED_S16_H

#include "tg_nn_s16.h"

int tg_fully_connected_s16(int32_t filter_offset, int32_t act_min, int32_t act_max, const int32_t *mult,
    const int32_t *shift, int32_t per_channel, int32_t batches, int32_t accum_depth, const int16_t *input,
    int32_t out_depth, const int8_t *filter, const int64_t *bias, int16_t *output);

#endif /* TG_FULLY_CONNECTED_S16_H */
