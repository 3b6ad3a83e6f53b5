/* tinygen runtime: fast int8 2-D convolution (im2col of two output pixels + 2x2 blocked GEMM).
 *
 * Same result as tg_conv2d_s8 (TFLM ConvPerChannel, bit-exact) for ungrouped convolutions whose
 * requantization shifts are all right shifts; the lowering (tinygen/kernels/fast.py) precomputes:
 *   filter    OHWI weights, each row padded with zeros to a multiple of 4 values and packed by
 *             tg_gemm_s8_fast.h's layout (pairs of rows interleaved 4 bytes at a time, int32 words)
 *   quant     5 int32 per output channel (tg_gemm_s8_fast.h): bias[oc] + input_offset * sum of
 *             filter row oc, mult, rounding term (low, high words), rshift - 1 (rshift = -shift >= 1)
 *   input_zp  the input zero point: the value of padding taps (they contribute 0 once the input
 *             offset is folded into bias)
 * Scratch: tg_conv2d_s8_fast_get_buffer_size bytes, 4-byte aligned: two int16 columns of
 * filter_h * filter_w * in_c values (rounded up to 4) plus one int8 staging column.
 * Returns TG_OK.
 */
#ifndef TG_CONV2D_S8_FAST_H
#define TG_CONV2D_S8_FAST_H

#include "tg_common.h"

int32_t tg_conv2d_s8_fast_get_buffer_size(int32_t in_c, int32_t filter_h, int32_t filter_w);

int tg_conv2d_s8_fast(int8_t *scratch,
                      int32_t stride_h, int32_t stride_w,
                      int32_t dilation_h, int32_t dilation_w,
                      int32_t pad_top, int32_t pad_left,
                      int32_t input_zp, int32_t output_offset,
                      int32_t act_min, int32_t act_max,
                                            int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
                      int32_t filter_h, int32_t filter_w, const int32_t *filter, const int32_t *quant,
                      int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output);

#endif /* TG_CONV2D_S8_FAST_H */
