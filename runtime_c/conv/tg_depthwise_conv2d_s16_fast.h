/* tinygen runtime: fast 16x8 depthwise 2-D convolution (depth multiplier 1), int16 activations x int8
 * weights, with the output step and accumulator bounds of tg_s16_fast.h (constants from
 * tinygen/lower/int16_fast.py). The outputs are those of tg_depthwise_conv2d_s16 (TFLM's int16
 * DepthwiseConvPerChannel) for the same layer.
 *
 * Layouts: input NHWC [batches, in_h, in_w, in_c]; filter [filter_h, filter_w, in_c]; output NHWC with
 * in_c channels. red and bias hold one value per channel. Per output value:
 *   acc = sum over the in-image taps (fy, fx) of filter * input    (int32, exact)
 *   out = tg_s16_out_fast(acc, red[c], bias[c], act_min, act_max)
 * No scratch. Returns TG_OK.
 */
#ifndef TG_DEPTHWISE_CONV2D_S16_FAST_H
#define TG_DEPTHWISE_CONV2D_S16_FAST_H

#include "tg_common.h"

int tg_depthwise_conv2d_s16_fast(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t act_min, int32_t act_max, const int32_t *red, const int64_t *bias,
    int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int16_t *input, int32_t filter_h,
    int32_t filter_w, const int8_t *filter, int32_t out_h, int32_t out_w, int16_t *output);

#endif /* TG_DEPTHWISE_CONV2D_S16_FAST_H */
