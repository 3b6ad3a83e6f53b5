/* tinygen runtime: fast int8 depthwise 2-D convolution for a depth multiplier that is a multiple of 4.
 *
 * Same result as tg_depthwise_conv2d_s8 (TFLM DepthwiseConvPerChannel, bit-exact). Output channel
 * oc = ic * mult + m reads input channel ic, so a group of 4 consecutive output channels shares its
 * input values: each output pixel gathers the window of one input channel once as int16 tap pairs, and
 * every group of 4 output channels then runs one SMLAD per tap pair and channel.
 * Tap order: row-major over the filter; when filter_w % 4 == 0 the columns of each run of 4 are taken
 * in the order 0, 2, 1, 3 (so one 32-bit load of 4 neighbouring int8 inputs gives two tap pairs by
 * sign extension: the interior rows of a single-channel input are read that way). Taps are paired
 * consecutively in that order, zero-weight taps added up to a multiple of 4 (two pairs per loop step).
 * The lowering (tinygen/lower/fast_dw.py) precomputes:
 *   filter  for each group of 4 output channels, for each tap pair, 4 words: channel c0..c3 as the
 *           int16 pair (w_t, w_t+1) (pre-extended)
 *   quant   rq_words int32 per output channel (tg_dsp.h records): bias + input_offset * sum of the
 *           channel's taps, then the requantization constants
 *   zp      the input zero point: padding taps read it (they contribute 0 once the offset is folded)
 * At most TG_DW_MULT_MAX_TAPS taps, mult % 4 == 0. No scratch. Returns TG_OK, or TG_ERROR on bad sizes.
 */
#ifndef TG_DEPTHWISE_MULT_S8_FAST_H
#define TG_DEPTHWISE_MULT_S8_FAST_H

#include "tg_common.h"

#define TG_DW_MULT_MAX_TAPS 256

int tg_depthwise_mult_s8_fast(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t zp, int32_t output_offset, int32_t act_min, int32_t act_max,
    const int32_t *quant, int32_t rq_words, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
    const int8_t *input, int32_t filter_h, int32_t filter_w, int32_t mult, const int32_t *filter,
    int32_t out_h, int32_t out_w, int8_t *output);

#endif /* TG_DEPTHWISE_MULT_S8_FAST_H */
