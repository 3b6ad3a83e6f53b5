/* tinygen runtime: fast int8 2-D convolution (one output pixel at a time against blocks of 4 output
 * channels, tg_gemm_s8_fast.h).
 *
 * Same result as tg_conv2d_s8 (TFLM ConvPerChannel, bit-exact) for ungrouped convolutions; the
 * lowering (tinygen/kernels/fast.py) precomputes:
 *   filter    OHWI weights packed as tg_gemm_s8_fast.h describes (wide: pre-extended or raw)
 *   quant     rq_words int32 per output channel (tg_dsp.h records), bias folded with the input offset
 *   input_zp  the input zero point: the value of padding taps (they contribute 0 once the input
 *             offset is folded into bias)
 *   zp_px     in_c copies of input_zp (what padding taps read when the window is read in place)
 * With in_c % 4 == 0 and at most TG_CONV_FAST_MAX_TAPS taps the window is read in place (tap pointers)
 * and no scratch is needed; any other layer needs one int8 column of filter_h * filter_w * in_c values
 * rounded up to 4 (im2col). tg_conv2d_s8_fast_get_buffer_size gives the bytes (0 when none).
 * wide = TG_GEMM_EXTEND (weights pre-extended as for wide = 1): each output pixel's column is
 * extended to int16 pairs once (tg_gemm_s8_extend) and shared by all blocks of 4 channels
 * (tg_gemm_s8_fast_x); scratch: 2 * k_pad bytes, word aligned. With in_c % 4 == 0 the taps are
 * extended straight from the input (zp_px is needed unless the layer is a stride-1 unpadded 1x1);
 * otherwise the raw column (padding taps input_zp, the values past the window 0, against zero
 * weights) is gathered first into the upper k_pad bytes of the scratch.
 * Returns TG_OK.
 */
#ifndef TG_CONV2D_S8_FAST_H
#define TG_CONV2D_S8_FAST_H

#include "tg_common.h"

#define TG_CONV_FAST_MAX_TAPS 25

int32_t tg_conv2d_s8_fast_get_buffer_size(int32_t in_c, int32_t filter_h, int32_t filter_w, int32_t wide);

int tg_conv2d_s8_fast(int8_t *scratch, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_zp, const int8_t *zp_px,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w,
    int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *filter,
    int32_t wide, const int32_t *quant, int32_t rq_words, int32_t out_h, int32_t out_w, int32_t out_c,
    int8_t *output);

#endif /* TG_CONV2D_S8_FAST_H */
