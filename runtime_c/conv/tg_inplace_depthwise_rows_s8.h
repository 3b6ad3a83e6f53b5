/* tinygen runtime: int8 stride-1 "same size" depthwise convolution (depth multiplier 1) that may run in
 * place with a ring of input rows in scratch (TFLM DepthwiseConvPerChannel semantics, bit-exact).
 *
 * Math as tg_inplace_depthwise_s8 (and tg_depthwise_conv2d_s8 with depth_multiplier 1), for stride 1,
 * out_h == in_h and out_w == in_w, so output row y occupies exactly the bytes of input row y.
 * Rows run top to bottom; before output row y is written, input row y is copied into slot y % rows of
 * the ring (rows = pad_top + 1). Output row y reads input rows y - pad_top .. y from the ring and rows
 * below y from `input`, which output rows <= y have not touched. `output` may equal `input` or be
 * disjoint from it.
 *
 * Scratch: (pad_top + 1) * in_w * channels bytes (tg_inplace_depthwise_rows_s8_get_buffer_size).
 * Returns TG_OK, or TG_ERROR on bad sizes.
 */
#ifndef TG_INPLACE_DEPTHWISE_ROWS_S8_H
#define TG_INPLACE_DEPTHWISE_ROWS_S8_H

#include "tg_common.h"

int32_t tg_inplace_depthwise_rows_s8_get_buffer_size(int32_t pad_top, int32_t in_w, int32_t channels);

int tg_inplace_depthwise_rows_s8(int8_t *scratch, int32_t dilation_h, int32_t dilation_w, int32_t pad_top,
    int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min, int32_t act_max,
    const int32_t *mult, const int32_t *shift, int32_t per_channel, int32_t in_h, int32_t in_w,
    int32_t channels, const int8_t *input, int32_t filter_h, int32_t filter_w, const int8_t *filter,
    const int32_t *bias, int8_t *output);

#endif /* TG_INPLACE_DEPTHWISE_ROWS_S8_H */
