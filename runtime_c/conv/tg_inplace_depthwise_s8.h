/* tinygen runtime: int8 depthwise convolution (depth multiplier 1) that may run in place
 * (TFLM DepthwiseConvPerChannel semantics, bit-exact).
 *
 * The math is tg_depthwise_conv2d_s8's with depth_multiplier 1:
 *   acc = sum over in-image taps (fy, fx) of filter[fy][fx][c] * (input[y][x][c] + input_offset)
 *   acc += bias[c] (bias may be NULL); out = clamp(tg_requantize(acc, mult[k], shift[k]) + output_offset,
 *   act_min, act_max), k = c when per_channel != 0, else 0. Layouts: input [in_h, in_w, channels],
 * filter [filter_h, filter_w, channels], output [out_h, out_w, channels] (one batch).
 *
 * Order, which is the contract: output pixels in raster order (row by row, left to right), and in each
 * pixel channels 0..channels-1; output value (q, c) is stored right after its accumulator is formed.
 * So the value at byte q * channels + c of `output` is written after every read of input values
 * (pixel < q or (pixel q, channel <= c)) made for earlier outputs. With `output == input` the result
 * is exact whenever no output pixel after q reads input pixel q (tinygen checks this per layer; it
 * holds for stride-2 layers with pad_top = pad_left = 0). `output` may also be disjoint from `input`.
 *
 * Scratch: none. Returns TG_OK, or TG_ERROR on bad sizes.
 */
#ifndef TG_INPLACE_DEPTHWISE_S8_H
#define TG_INPLACE_DEPTHWISE_S8_H

#include "tg_common.h"

int tg_inplace_depthwise_s8(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t per_channel, int32_t in_h,
    int32_t in_w, int32_t channels, const int8_t *input, int32_t filter_h, int32_t filter_w,
    const int8_t *filter, const int32_t *bias, int32_t out_h, int32_t out_w, int8_t *output);

#endif /* TG_INPLACE_DEPTHWISE_S8_H */
