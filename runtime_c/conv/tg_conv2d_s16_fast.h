/* tinygen runtime: fast 16x8 2-D convolution (ungrouped), int16 activations x packed int8 weights, with the
 * output step and accumulator bounds of tg_s16_fast.h (constants from tinygen/lower/int16_fast.py). The
 * outputs are those of tg_conv2d_s16 (TFLM's ConvPerChannel for int16 input) for the same layer.
 *
 * Layouts: input NHWC [batches, in_h, in_w, in_c]; output NHWC [batches, out_h, out_w, out_c]. wpack holds
 * the OHWI filter as rows of K = filter_h * filter_w * in_c values, rows padded with zeros to a multiple of
 * four and K to G = ceil(K / 4) groups of four, in blocks of four rows: block b, group g, row j is word
 * wpack[(b * G + g) * 4 + j] with the bytes (w[4g], w[4g+2], w[4g+1], w[4g+3]) of row 4b + j. red and bias
 * hold one value per output channel (tg_s16_out_fast). Per output value:
 *   acc = sum over the in-image taps (fy, fx, ic) of filter * input      (int32, exact)
 *   out = tg_s16_out_fast(acc, red[oc], bias[oc], act_min, act_max)
 * scratch_bytes (4 * G int16, arena aligned) holds the window of one pixel; NULL when the filter is 1x1, in_c is a multiple of
 * four and there is no padding (the window is read in place). Returns TG_OK.
 */
#ifndef TG_CONV2D_S16_FAST_H
#define TG_CONV2D_S16_FAST_H

#include "tg_common.h"

int tg_conv2d_s16_fast(int8_t *scratch_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t act_min, int32_t act_max, const int32_t *red,
    const int64_t *bias, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int16_t *input,
    int32_t filter_h, int32_t filter_w, const int32_t *wpack, int32_t out_h, int32_t out_w, int32_t out_c,
    int16_t *output);

#endif /* TG_CONV2D_S16_FAST_H */
