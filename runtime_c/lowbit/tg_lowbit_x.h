/* tinygen runtime: CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with low-bit weights (row formats
 * of tg_lowbit.h), decoded once per call into the layouts of the int8 fast kernels and then run by them.
 *
 * A low-bit weight is read by every output pixel, so instead of decoding it in the inner loops these
 * kernels decode the whole filter once per call into scratch, exactly as the int8 lowering stores it in
 * flash (tinygen/lower/fast.py), build the requantization records there as well (tg_dsp.h: the bias,
 * then the multipliers and shifts (tg_lowbit.h's 3-byte form); TG_RQ_RS when every shift is a right shift, else TG_RQ_GEN, rq_words
 * says which), and call the int8 kernel. `bias` is required and already holds bias + input_offset * the
 * channel's weight sum (folded offline, as the int8 lowering folds it; wrapping as int32):
 *   tg_conv2d_lbx            tg_conv2d_s8_fast, wide = TG_GEMM_EXTEND (int16 pairs, blocks of 4 rows)
 *   tg_depthwise_conv2d_lbx  tg_depthwise_conv2d_s8_fast (depth multiplier 1, in_c % 4 == 0, at most
 *                            TG_DW_FAST_MAX_TAPS taps)
 *   tg_fully_connected_lbx   tg_fully_connected_s8_fast, wide = 0 (raw bytes; accum_depth % 4 == 0)
 * In all three, fold != 0 adds output_offset into the records' rounding words (+ offset << post) and passes
 * 0 to the int8 kernel (which then takes its plain-output loops where it has them); the lowering checks
 * offline that the sum stays in int32.
 * wshift: TERNARY and BINARY values are decoded as 0 and +-2^wshift (0 <= wshift <= TG_LBX_MAX_WSHIFT, at
 * most 6 for FULLY_CONNECTED, whose filter holds bytes; 0 for the other formats; the lowering keeps it
 * at most 6 everywhere, so the values fit the int8 filter of an exported .tflite). The lowering scales the
 * bias and the shifts to match (bias * 2^wshift, shift - wshift), so that every channel's multiplier
 * shifts right and the records are the short TG_RQ_RS form; the NumPy reference uses the same values.
 * The per-pixel work is the int8 kernel's; the flash holds only the packed rows and 3 bytes per channel.
 * Row order: as tg_lowbit.h says, except that tg_depthwise_conv2d_lbx reads TERNARY and BINARY rows as
 * b-bit indices in value order (b = 2: non-zero | negative << 1, b = 1: 1 for +1; ceil(taps * b / 8) bytes a
 * row, like a 2- or 1-bit palette's), and tg_conv2d_lbx reads every row in pair order of b-bit
 * values (b = 4 for INT4, `bits` for PALETTE; TERNARY as b = 2 indices into {0, +1, 0, -1}, i.e.
 * non-zero | negative << 1, and BINARY as b = 1 indices into {-1, +1}: ceil(n * b / 8) bytes a row):
 * each full group of 4 values v0..v3 is two fields of 2 * b bits,
 * (v0 | v2 << b) and (v1 | v3 << b), from bit 0 of byte 0 upwards, so that a field is one word of the
 * filter (v0 | v2 << 16 as int16); the last n % 4 values follow in value order, b bits each. Fields go
 * through a table of every field's word built once per call in the column's scratch
 * (tg_conv2d_lbx_tab_words): b < 4 always (4, 16 or 64 words),
 * 4-bit formats with at least TG_LBX_TAB_MIN_BYTES field bytes (256 words; 4 bytes per load), else a
 * byte at a time through the 16-entry value table.
 * The lowering checks offline that the records are exact (a left shift's pre-shift cannot overflow, the
 * folded offset stays in int32), as it does for int8 weights, and else takes tg_lowbit.h's kernels.
 *
 * Scratch (bytes, word aligned; k4 = ceil(filter_h * filter_w * in_c / 4), blocks = ceil(out_c / 4)):
 *   conv:       TG_LBX_HEAD (8 * k4: the int8 kernel's column, first holding the pair table: at least
 *               4 * tab_words) + blocks * 16 * rq_words
 *               + blocks * 32 * k4 (filter) + in_c rounded up to 4 (input zero points)
 *   depthwise:  in_c * (4 * rq_words + 4 * pairs) + in_c, pairs = ceil(taps / 2)
 *   fc:         blocks * 16 * rq_words + blocks * 16 * k4 (filter) + 8 * k4 (the row being decoded)
 * Returns TG_OK, or TG_ERROR for an unknown format or a shape the int8 kernel does not take.
 */
#ifndef TG_LOWBIT_X_H
#define TG_LOWBIT_X_H

#include "tg_common.h"

#define TG_LBX_TAB_MIN_BYTES 512
#define TG_LBX_MAX_WSHIFT 14
#define TG_LBX_HEAD(k4, tab_words) (8 * (k4) < 4 * (tab_words) ? 4 * (tab_words) : 8 * (k4))

/* The words of the pair table tg_conv2d_lbx builds: 256 for a 4-bit format with out_c * 2 * floor(n / 4)
 * >= TG_LBX_TAB_MIN_BYTES (else 0), 2^(2 b) for b-bit values below 4 bits */
int32_t tg_conv2d_lbx_tab_words(int32_t format, int32_t bits, int32_t n, int32_t out_c);

/* The scratch bytes above (the lowering's scratch_bytes) */
int32_t tg_conv2d_lbx_get_buffer_size(int32_t format, int32_t bits, int32_t rq_words, int32_t filter_h,
                                      int32_t filter_w, int32_t in_c, int32_t out_c);
int32_t tg_depthwise_conv2d_lbx_get_buffer_size(int32_t rq_words, int32_t filter_h, int32_t filter_w, int32_t in_c);
int32_t tg_fully_connected_lbx_get_buffer_size(int32_t rq_words, int32_t accum_depth, int32_t out_depth);

int tg_conv2d_lbx(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook, const uint8_t *weights,
    int32_t row_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w, int32_t pad_top,
    int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t fold, int32_t act_min, int32_t act_max,
    const int16_t *mult, const int8_t *shift, int32_t rq_words, int32_t wshift, int32_t batches, int32_t in_h,
    int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias,
    int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output);

int tg_depthwise_conv2d_lbx(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset,
    int32_t fold, int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t rq_words,
    int32_t wshift, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
    int32_t filter_h, int32_t filter_w, const int32_t *bias, int32_t out_h, int32_t out_w, int8_t *output);

int tg_fully_connected_lbx(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t input_offset, int32_t output_offset, int32_t fold,
    int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t rq_words, int32_t wshift,
    int32_t batches, int32_t accum_depth, const int8_t *input, int32_t out_depth, const int32_t *bias,
    int8_t *output);

#endif /* TG_LOWBIT_X_H */
