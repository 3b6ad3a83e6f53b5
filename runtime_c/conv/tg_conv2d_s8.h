/* tinygen runtime: int8 2-D convolution (TFLM reference ConvPerChannel semantics, bit-exact).
 *
 * Layouts: input NHWC [batches, in_h, in_w, in_c]; filter OHWI [out_c, filter_h, filter_w, filter_in_c];
 * output NHWC [batches, out_h, out_w, out_c]. Grouped convolution when filter_in_c < in_c:
 * groups = in_c / filter_in_c, output channel oc reads input channels of group oc / (out_c / groups).
 *
 * Per output value:
 *   acc = sum over (fy, fx, ic) of filter * (input + input_offset), taps outside the image skipped
 *   acc += bias[oc]                                  (bias may be NULL)
 *   out = clamp(tg_requantize(acc, mult[k], shift[k]) + output_offset, act_min, act_max)
 * with k = oc when per_channel != 0, else 0. Padding is given by pad_top / pad_left only; the output
 * size is the caller's (bottom / right padding follows from it).
 *
 * Value ranges: input_offset in [-127, 128], output_offset in [-128, 127],
 * -128 <= act_min <= act_max <= 127, mult in [2^30, 2^31) or 0, shift in [-31, 30].
 * Scratch: none (tg_conv2d_s8_get_buffer_size returns 0); pass NULL. Optimized variants
 * (tg_conv2d_s8_dsp.c, ...) keep this exact signature and may need scratch.
 * Fast path: 1x1 filter, stride 1, no padding, no groups runs as a GEMM over the NHWC pixels.
 * Returns TG_OK, or TG_ERROR when the shapes are inconsistent.
 */
#ifndef TG_CONV2D_S8_H
#define TG_CONV2D_S8_H

#include "tg_common.h"

int32_t tg_conv2d_s8_get_buffer_size(int32_t in_c, int32_t filter_h, int32_t filter_w);

int tg_conv2d_s8(int8_t *scratch, int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *mult, const int32_t *shift, int32_t per_channel, int32_t batches,
    int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w,
    int32_t filter_in_c, const int8_t *filter, const int32_t *bias, int32_t out_h, int32_t out_w,
    int32_t out_c, int8_t *output);

#endif /* TG_CONV2D_S8_H */
