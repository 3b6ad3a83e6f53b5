/* tinygen runtime: int8 depthwise 2-D convolution (TFLM reference DepthwiseConvPerChannel, bit-exact).
 *
 * Layouts: input NHWC [batches, in_h, in_w, in_c]; filter [1, filter_h, filter_w, in_c * depth_multiplier];
 * output NHWC [batches, out_h, out_w, in_c * depth_multiplier]. Output channel oc = ic * depth_multiplier + m
 * reads input channel ic only.
 *
 * Per output value:
 *   acc = sum over (fy, fx) of filter[fy][fx][oc] * (input[iy][ix][ic] + input_offset), outside taps skipped
 *   acc += bias[oc]                                  (bias may be NULL)
 *   out = clamp(tg_requantize(acc, mult[k], shift[k]) + output_offset, act_min, act_max)
 * with k = oc when per_channel != 0, else 0. Padding by pad_top / pad_left; output size is the caller's.
 *
 * Value ranges as tg_conv2d_s8.h. Scratch: none (pass NULL); optimized variants keep this signature.
 * Returns TG_OK, or TG_ERROR when depth_multiplier < 1.
 */
#ifndef TG_DEPTHWISE_CONV2D_S8_H
#define TG_DEPTHWISE_CONV2D_S8_H

#include "tg_common.h"

int32_t tg_depthwise_conv2d_s8_get_buffer_size(int32_t in_c, int32_t filter_h, int32_t filter_w);

int tg_depthwise_conv2d_s8(int8_t *scratch, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t depth_multiplier, int32_t input_offset,
    int32_t output_offset, int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift,
    int32_t per_channel, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
    int32_t filter_h, int32_t filter_w, const int8_t *filter, const int32_t *bias, int32_t out_h,
    int32_t out_w, int8_t *output);

#endif /* TG_DEPTHWISE_CONV2D_S8_H */
