/* tinygen runtime: CONV_2D with BINARY weights (tg_lowbit.h: one bit plane per output channel, 1 = +1,
 * 0 = -1), by sums of absolute byte differences.
 *
 * Each input byte x becomes u = x + 128 (x ^ 0x80) and each weight s a mask byte m (0x00 for +1, 0xFF
 * for -1), so |u - m| = s * u + 255 * [s = -1], and 4 products cost one USADA8 on cores with the DSP
 * extension. The int8 accumulator bias + sum s * (x + input_offset) is then
 *   bias' + sum |u - m|,  bias' = bias + (input_offset - 128) * sum s - 255 * (number of -1 weights),
 * so `bias` must hold bias' (folded offline, in int32). The masks are decoded once per call from the
 * packed rows into scratch (4 per nibble, through a 16-word table), so the flash keeps 1 bit per weight.
 * Each output pixel's window becomes a column of u words once: a 1x1 filter with stride 1 and no padding
 * reads the pixel's input, other filters gather the window in (fy, fx, ic) order, taps outside the input
 * holding the zero point -input_offset (their products cancel in bias', as int8's do); bytes past the
 * window's n values are 0, as are their masks. Where in_c is not a multiple of 4 (and the filter is not
 * 1x1 over its own pixels), the input rows of each output row are first copied as u bytes into a strip
 * of strip_cols columns (from ix = -pad_left, the taps outside the input already the zero
 * point), and each window row is a run of the strip, copied a word at a time.
 * A FULLY_CONNECTED layer is a 1x1 conv over a 1 x batches image of accum_depth channels.
 * Requantization is the decode-once kernels' (tg_lowbit_x.h): records built per call from bias', mult
 * and shift (rq_words TG_RQ_RS or TG_RQ_GEN, which the lowering checks exact offline), then the output
 * offset and the clamp. Cores without the DSP extension run the same arithmetic in plain C.
 *
 * Scratch (bytes, word aligned; k4 = ceil(filter_h * filter_w * in_c / 4), blocks = ceil(out_c / 4)):
 *   blocks * 16 * rq_words (records) + blocks * 16 * k4 (masks, per block and group 4 rows' words)
 *   + 4 * k4 + 4 (the column and a spare word) + the strip: ceil(filter_h * strip_cols * in_c / 4) * 4
 *   + 4 where a strip is needed (in_c % 4 != 0, unless the filter is 1x1 with stride 1, no padding and the
 *   output the input's size), else 0; strip_cols = (out_w - 1) * stride_w + (filter_w - 1) * dilation_w + 1
 * Returns TG_OK, or TG_ERROR for an unknown record size, a missing bias or a short row.
 */
/* tg_conv2d_usad_t: the same for TERNARY weights t in {-1, 0, +1}, with two mask bytes a weight:
 * (m1, m2) = (0x00, 0x00) for +1, (0xFF, 0xFF) for -1, (0x00, 0xFF) for 0, so
 * |u - m1| + |u - m2| = 2 * t * u + 255 * [t = 0] + 510 * [t = -1] and the sums give twice the int8
 * accumulator: 2 * acc = bias'' + sum (|u - m1| + |u - m2|),
 *   bias'' = 2 * bias + 2 * (input_offset - 128) * sum t - 255 * (zeros) - 510 * (number of -1 weights),
 * which `bias` must hold (folded offline, in int32).
 * Requantizing 2 * acc as TFLM requantizes acc: a channel whose shift s is left (s >= 1) takes s - 1, any
 * other takes its multiplier halved (multipliers are even: tg_lowbit.h stores their top 19 bits); the
 * product acc * 2^max(s, 0) * multiplier is unchanged, so the outputs are the same bytes.
 * Rows: k4 bytes, byte j for weights 4j..4j+3: bit i set unless t_{4j+i} = -1 (m1 0x00), bit 4 + i set
 * when t_{4j+i} = +1 (m2 0x00); bits past n set (both masks 0x00 against the column's 0 bytes);
 * row_bytes >= k4. Each nibble is one mask word through a 16-word table.
 * fold != 0 puts output_offset into the records' rounding words (tg_lowbit_x.h; the lowering checks it exact).
 * Blocks of 2 output pixels by 2 channels: per 4 inputs, one LDRD of the two pixels' column words, one
 * LDM of the two channels' 4 mask words, 8 USADA8 (10 instructions for 16 products).
 * Scratch, with pairs = ceil(out_c / 2): pairs * 8 * rq_words (records: a pair's two biases, then its two
 * records) + pairs * 16 * k4 (masks) + 8 * k4 (the two pixels' columns) + 4 * k4 + 4 (a window copied
 * from the strip, and a spare word) + out_c rounded up to 4 (the outputs of a lone last pixel's partner, dropped)
 * + the strip, as tg_conv2d_usad's.
 */
#ifndef TG_CONV2D_USAD_H
#define TG_CONV2D_USAD_H

#include "tg_common.h"

int32_t tg_conv2d_usad_get_buffer_size(int32_t rq_words, int32_t filter_h, int32_t filter_w, int32_t in_c,
    int32_t out_c, int32_t stride_h, int32_t stride_w, int32_t dilation_w, int32_t pad_top, int32_t pad_left,
    int32_t in_h, int32_t in_w, int32_t out_h, int32_t out_w);

int tg_conv2d_usad(int8_t *scratch, const uint8_t *weights, int32_t row_bytes, int32_t stride_h, int32_t stride_w,
    int32_t dilation_h, int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_offset,
    int32_t output_offset, int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift,
    int32_t rq_words, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
    int32_t filter_h, int32_t filter_w, const int32_t *bias, int32_t out_h, int32_t out_w, int32_t out_c,
    int8_t *output);

int32_t tg_conv2d_usad_t_get_buffer_size(int32_t rq_words, int32_t filter_h, int32_t filter_w, int32_t in_c,
    int32_t out_c, int32_t stride_h, int32_t stride_w, int32_t dilation_w, int32_t pad_top, int32_t pad_left,
    int32_t in_h, int32_t in_w, int32_t out_h, int32_t out_w);

int tg_conv2d_usad_t(int8_t *scratch, const uint8_t *weights, int32_t row_bytes, int32_t stride_h,
    int32_t stride_w, int32_t dilation_h, int32_t dilation_w, int32_t pad_top, int32_t pad_left,
    int32_t input_offset, int32_t output_offset, int32_t fold, int32_t act_min, int32_t act_max, const int16_t *mult,
    const int8_t *shift, int32_t rq_words, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
    const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias, int32_t out_h, int32_t out_w,
    int32_t out_c, int8_t *output);

/* tg_fully_connected_usad_t: FULLY_CONNECTED of a single row of inputs (batches 1) on tg_conv2d_usad_t's
 * rows and bias'': each mask is used once, so it is read from the rows (a nibble a mask word through the
 * table) as the sums run, with nothing decoded ahead; each channel's doubled accumulator is requantized
 * by tg_requantize with the shift one less or the multiplier halved, then output_offset and the clamp.
 * Scratch: 4 * ceil(accum_depth / 4) bytes (the inputs as u words). */
int32_t tg_fully_connected_usad_t_get_buffer_size(int32_t accum_depth);

int tg_fully_connected_usad_t(int8_t *scratch, const uint8_t *weights, int32_t row_bytes, int32_t output_offset,
    int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t accum_depth,
    const int8_t *input, int32_t out_depth, const int32_t *bias, int8_t *output);

#endif /* TG_CONV2D_USAD_H */
