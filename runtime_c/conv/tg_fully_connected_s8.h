/* tinygen runtime: int8 fully connected layer (TFLM reference FullyConnected / FullyConnectedPerChannel).
 *
 * Layouts: input [batches, accum_depth] (any input shape flattened, batches = size / accum_depth);
 * filter [out_depth, accum_depth]; output [batches, out_depth].
 *
 * Per output value:
 *   acc = sum over i of (filter[o][i] + filter_offset) * (input[b][i] + input_offset)
 *   acc += bias[o]                                   (bias may be NULL)
 *   out = clamp(tg_requantize(acc, mult[k], shift[k]) + output_offset, act_min, act_max)
 * with k = o when per_channel != 0, else 0. filter_offset is the negated weight zero point (0 for
 * symmetric and per-channel weights). Value ranges as tg_conv2d_s8.h.
 * Scratch: none (pass NULL); optimized variants keep this signature. Returns TG_OK.
 */
#ifndef TG_FULLY_CONNECTED_S8_H
#define TG_FULLY_CONNECTED_S8_H

#include "tg_common.h"

int32_t tg_fully_connected_s8_get_buffer_size(int32_t accum_depth);

int tg_fully_connected_s8(int8_t *scratch, int32_t input_offset, int32_t filter_offset, int32_t output_offset,
    int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t per_channel,
    int32_t batches, int32_t accum_depth, const int8_t *input, int32_t out_depth, const int8_t *filter,
    const int32_t *bias, int8_t *output);

#endif /* TG_FULLY_CONNECTED_S8_H */
