/* tinygen runtime: 16x8 2-D convolution, int16 activations x int8 weights, int64 bias
 * (TFLM reference ConvPerChannel for int16 input, bit-exact; TFLM takes this int64 path for an
 * int64 bias and for no bias).
 *
 * Layouts: input NHWC [batches, in_h, in_w, in_c]; filter OHWI [out_c, filter_h, filter_w,
 * filter_in_c]; output NHWC [batches, out_h, out_w, out_c]. Grouped when filter_in_c < in_c:
 * output channel oc reads input channels of group oc / (out_c / (in_c / filter_in_c)).
 * Activations are symmetric (zero point 0), so there are no offsets. Per output value:
 *   acc = sum over (fy, fx, ic) of filter * input   (int64; taps outside the image skipped)
 *   acc += bias[oc]                                 (bias may be NULL)
 *   out = clamp(tg_requantize64(acc, mult[oc], shift[oc]), act_min, act_max)
 * mult / shift hold one entry per output channel; shift <= 14. Padding is given by pad_top /
 * pad_left; the output size is the caller's. No scratch.
 * Returns TG_OK, or TG_ERROR when the shapes are inconsistent.
 */
#ifndef TG_CONV2D_S16_H
#define TG_CONV2D_S16_H

#include "tg_common.h"

int tg_conv2d_s16(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w, int32_t pad_top,
    int32_t pad_left, int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift,
    int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int16_t *input, int32_t filter_h,
    int32_t filter_w, int32_t filter_in_c, const int8_t *filter, const int64_t *bias, int32_t out_h,
    int32_t out_w, int32_t out_c, int16_t *output);

#endif /* TG_CONV2D_S16_H */
