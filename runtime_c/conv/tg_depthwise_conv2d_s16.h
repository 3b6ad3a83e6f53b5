/* tinygen runtime: 16x8 DEPTHWISE_CONV_2D (int16 NHWC input and output, int8 1HW(C*M) filter,
 * int64 bias), TFLM reference semantics.
 *
 * Output channel ic * M + m reads input channel ic; points outside the image contribute nothing;
 *   acc = bias[oc] + sum filter * input (int64),
 *   out = clamp(tg_requantize64(acc, mult[c], shift[c]), act_min, act_max), c = oc if per_channel.
 * Symmetric activations: no offsets. bias may be NULL. No scratch. Returns TG_OK.
 */
#ifndef TG_DEPTHWISE_CONV2D_S16_H
#define TG_DEPTHWISE_CONV2D_S16_H

#include "tg_nn_s16.h"

int tg_depthwise_conv2d_s16(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t depth_multiplier, int32_t act_min, int32_t act_max,
    const int32_t *mult, const int32_t *shift, int32_t per_channel, int32_t batches, int32_t in_h,
    int32_t in_w, int32_t in_c, const int16_t *input, int32_t filter_h, int32_t filter_w,
    const int8_t *filter, const int64_t *bias, int32_t out_h, int32_t out_w, int16_t *output);

#endif /* TG_DEPTHWISE_CONV2D_S16_H */
