/* tinygen runtime: in-place capable stride-1 "same size" int8 convolution on the fast conv core
 * (tg_gemm_s8_fast.h), for a CONV_2D whose output may be written over its input.
 *
 * Same result as tg_conv2d_s8_fast (same constants: filter, wide, quant, rq_words, input_zp, zp_px as
 * tg_conv2d_s8_fast.h) for stride 1, one batch, out_h == in_h, out_w == in_w and out_c <= in_c.
 * Output rows are computed top to bottom; before output row y is written, input row y is copied into
 * a ring of pad_top + 1 rows in scratch, and output row y reads rows <= y from the ring and rows
 * below from `input` (output row y only covers bytes of input rows <= y, as out_c <= in_c).
 * Scratch: the column the kernel needs (2 * k_pad for wide = TG_GEMM_EXTEND, none when the window is
 * read in place, k_pad for im2col; rounded up to 4) followed by (pad_top + 1) * in_w * in_c ring bytes;
 * tg_inplace_conv_rows_s8_fast_get_buffer_size gives the total. Returns TG_OK, or TG_ERROR on bad sizes.
 */
#ifndef TG_INPLACE_CONV_ROWS_S8_FAST_H
#define TG_INPLACE_CONV_ROWS_S8_FAST_H

#include "tg_common.h"

int32_t tg_inplace_conv_rows_s8_fast_get_buffer_size(int32_t pad_top, int32_t in_w, int32_t in_c, int32_t filter_h,
    int32_t filter_w, int32_t wide);

int tg_inplace_conv_rows_s8_fast(int8_t *scratch, int32_t dilation_h, int32_t dilation_w, int32_t pad_top,
    int32_t pad_left, int32_t input_zp, const int8_t *zp_px, int32_t output_offset, int32_t act_min,
    int32_t act_max, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h,
    int32_t filter_w, const int32_t *filter, int32_t wide, const int32_t *quant, int32_t rq_words,
    int32_t out_c, int8_t *output);

#endif /* TG_INPLACE_CONV_ROWS_S8_FAST_H */
