/* tinygen runtime: fast int8 depthwise 2-D convolution (depth multiplier 1, channels a multiple of 4).
 *
 * Same result as tg_depthwise_conv2d_s8 (TFLM DepthwiseConvPerChannel, bit-exact) when every
 * requantization shift is a right shift. Four channels at a time, taps taken in pairs (t, t+1) so
 * one SMLAD does two taps of one channel; an odd last tap is paired with zero weights. The lowering
 * (tinygen/kernels/fast.py) precomputes:
 *   filter  for each group of 4 channels, for each tap pair, two words
 *           [w_t c0, w_t c1, w_t+1 c0, w_t+1 c1] [w_t c2, w_t c3, w_t+1 c2, w_t+1 c3] (int8 bytes)
 *   quant   5 int32 per channel: bias + input_offset * sum of the channel's taps, mult, the
 *           rounding term 2^30 + 2^(30 + rshift) as low and high words, rshift - 1
 *   input_zp  value of padding taps (they contribute 0 once the offset is folded into bias)
 * Scratch: tg_depthwise_conv2d_s8_fast_get_buffer_size bytes, 4-byte aligned (tap pointers and one
 * pixel of zero points). Returns TG_OK.
 */
#ifndef TG_DEPTHWISE_CONV2D_S8_FAST_H
#define TG_DEPTHWISE_CONV2D_S8_FAST_H

#include "tg_common.h"

int32_t tg_depthwise_conv2d_s8_fast_get_buffer_size(int32_t in_c, int32_t filter_h, int32_t filter_w);

int tg_depthwise_conv2d_s8_fast(int8_t *scratch,
                                int32_t stride_h, int32_t stride_w,
                                int32_t dilation_h, int32_t dilation_w,
                                int32_t pad_top, int32_t pad_left,
                                int32_t input_zp, int32_t output_offset,
                                int32_t act_min, int32_t act_max,
                                const int32_t *quant,
                                int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
                                int32_t filter_h, int32_t filter_w, const int32_t *filter,
                                int32_t out_h, int32_t out_w, int8_t *output);

#endif /* TG_DEPTHWISE_CONV2D_S8_FAST_H */
