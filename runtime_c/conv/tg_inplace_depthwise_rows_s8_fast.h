/* tinygen runtime: in-place capable stride-1 "same size" depthwise convolution on the fast per-pixel
 * core (tg_depthwise_conv2d_s8_fast.h).
 *
 * Same order as tg_inplace_depthwise_rows_s8 (a ring of pad_top + 1 input rows in scratch; output row y
 * reads rows <= y from the ring and rows below from `input`), with the fast lowering's constants:
 * filter, quant (rq_words per channel) and zp_px as tg_depthwise_conv2d_s8_fast.h. channels % 4 == 0,
 * at most TG_DW_FAST_MAX_TAPS taps.
 * Scratch: (pad_top + 1) * in_w * channels bytes. Returns TG_OK, or TG_ERROR on bad sizes.
 */
#ifndef TG_INPLACE_DEPTHWISE_ROWS_S8_FAST_H
#define TG_INPLACE_DEPTHWISE_ROWS_S8_FAST_H

#include "tg_common.h"

int32_t tg_inplace_depthwise_rows_s8_fast_get_buffer_size(int32_t pad_top, int32_t in_w, int32_t channels);

int tg_inplace_depthwise_rows_s8_fast(int8_t *scratch, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, const int8_t *zp_px, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *quant, int32_t rq_words, int32_t in_h, int32_t in_w, int32_t channels,
    const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *filter, int8_t *output);

#endif /* TG_INPLACE_DEPTHWISE_ROWS_S8_FAST_H */
