/* tinygen runtime: 16x8 TRANSPOSE_CONV, int16 activations x int8 weights, int64 bias
 * (TFLM reference TransposeConv for int16 input, bit-exact).
 *
 * Layouts: input NHWC [batches, in_h, in_w, in_c]; filter OHWI [out_c, filter_h, filter_w, in_c];
 * output NHWC [batches, out_h, out_w, out_c]. Input pixel (iy, ix) scatters filter tap (fy, fx)
 * onto output pixel (iy * stride_h - pad_top + fy, ix * stride_w - pad_left + fx) when that lies
 * inside the output. Computed here as a gather: every output value sums, in int64, all
 * input * filter products landing on it (exact, so the order does not matter), then
 *   acc += bias[oc]                                            (bias may be NULL)
 *   out = clamp(tg_requantize64(acc, mult[oc], shift[oc]), act_min, act_max)
 * Zero points are 0. mult / shift hold one entry per output channel; shift <= 14.
 * No scratch (TFLM's int64 output-sized scratch is not needed by the gather). Returns TG_OK.
 */
#ifndef TG_TRANSPOSE_CONV_S16_H
#define TG_TRANSPOSE_CONV_S16_H

#include "tg_common.h"

int tg_transpose_conv_s16(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
    int32_t act_min, int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t batches,
    int32_t in_h, int32_t in_w, int32_t in_c, const int16_t *input, int32_t filter_h, int32_t filter_w,
    const int8_t *filter, const int64_t *bias, int32_t out_h, int32_t out_w, int32_t out_c, int16_t *output);

#endif /* TG_TRANSPOSE_CONV_S16_H */
