/* tinygen runtime: fast int8 2-D convolution for 3-channel inputs and 3x3 filters (an image model's first
 * layer: 27 values per window), any stride and padding, dilation 1.
 *
 * Same result as tg_conv2d_s8 (TFLM ConvPerChannel, bit-exact). Per output pixel the window's three rows
 * of 9 bytes are extended straight into 14 words of int16 pairs (scratch), in the order
 *   for each row r: (b0, b2) (b1, b3) (b4, b6) (b5, b7), then (r0 b8, r1 b8) (r2 b8, 0)
 * (two word loads, four SXTB16 per row, and the rows' last bytes paired), and tg_gemm_s8_fast_x runs
 * every block of 4 output channels on it (7 groups, wide = 1). The lowering (tinygen/lower/fast_rgb.py)
 * packs the filter rows permuted to that order, pre-extended (tg_gemm_s8_fast.h, wide = 1), folds the
 * input offset into the bias and gives rq_words-word records (tg_dsp.h). Windows that cross the input's
 * border are first copied with padding taps = input_zp. Scratch: TG_CONV_RGB_SCRATCH bytes, word
 * aligned (tg_conv2d_s8_fast_rgb_get_buffer_size). The filter size and dilation are arguments (as in
 * tg_conv2d_s8_fast, so that row bands of the layer can be derived from them, tinygen/memory/patch.py):
 * TG_ERROR unless 3x3 and 1; TG_OK.
 */
#ifndef TG_CONV2D_S8_FAST_RGB_H
#define TG_CONV2D_S8_FAST_RGB_H

#include "tg_common.h"

#define TG_CONV_RGB_SCRATCH 92 /* 14 extended words, then a 3 x 12-byte window copy for border pixels */

int32_t tg_conv2d_s8_fast_rgb_get_buffer_size(int32_t out_c);

int tg_conv2d_s8_fast_rgb(int8_t *scratch, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_zp, int32_t output_offset, int32_t act_min,
    int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w, const int8_t *input, int32_t filter_h,
    int32_t filter_w, const int32_t *filter, const int32_t *quant, int32_t rq_words, int32_t out_h, int32_t out_w,
    int32_t out_c, int8_t *output);

#endif /* TG_CONV2D_S8_FAST_RGB_H */
