/* tinygen runtime: fast int8 depthwise 2-D convolution (depth multiplier 1, channels a multiple of 4).
 *
 * Same result as tg_depthwise_conv2d_s8 (TFLM DepthwiseConvPerChannel, bit-exact). Four channels at
 * a time, taps taken in pairs (t, t+1) so one SMLAD does two taps of one channel; an odd last tap runs
 * alone (one SMLABB / SMLATB per channel on the low halves of its pair's words, whose high halves hold
 * zero weights). The lowering (tinygen/lower/fast.py) precomputes:
 *   filter  for each group of 4 channels, for each tap pair, 4 words: channel c0..c3 as the int16
 *           pair (w_t, w_t+1) (pre-extended)
 *   quant   rq_words int32 per channel (tg_dsp.h records): bias + input_offset * sum of the
 *           channel's taps, then the requantization constants
 *   zp_px   in_c copies of the input zero point: padding taps read it (they contribute 0 once the
 *           offset is folded into bias)
 * At most TG_DW_FAST_MAX_TAPS taps. No scratch. Returns TG_OK.
 *
 * tg_depthwise_s8_fast_pixel (its own file) is the per-pixel core, also used by the in-place row variant:
 * every channel of one output pixel from `taps` tap pointers.
 */
#ifndef TG_DEPTHWISE_CONV2D_S8_FAST_H
#define TG_DEPTHWISE_CONV2D_S8_FAST_H

#include "tg_common.h"

#define TG_DW_FAST_MAX_TAPS 25

void tg_depthwise_s8_fast_pixel(const int8_t *const *tap, int32_t taps, int32_t channels,
    const int32_t *filter, const int32_t *quant, int32_t rq_words, int32_t output_offset, int32_t act_min,
    int32_t act_max, int8_t *out);

/* tg_depthwise_s8_fast_pixel for a 3x3 filter (9 taps), the output offset folded into the records
 * (output_offset 0) and act_min -128, over `pixels` output pixels whose windows lie inside the input:
 * pixel n's tap t reads base + n * step + offs[t]; its outputs go to out + n * channels. */
void tg_depthwise_s8_fast_run9(const int32_t *offs, const int8_t *base, int32_t step, int32_t pixels,
    int32_t channels, const int32_t *filter, const int32_t *quant, int32_t rq_words, int32_t act_max, int8_t *out);

int tg_depthwise_conv2d_s8_fast(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, const int8_t *zp_px, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *quant, int32_t rq_words, int32_t batches, int32_t in_h, int32_t in_w,
    int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *filter,
    int32_t out_h, int32_t out_w, int8_t *output);

#endif /* TG_DEPTHWISE_CONV2D_S8_FAST_H */
