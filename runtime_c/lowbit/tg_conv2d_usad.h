/* tinygen runtime: 1x1 CONV_2D (stride 1, no padding: a GEMM over the pixels) with BINARY weights
 * (tg_lowbit.h: one bit plane per output channel, 1 = +1, 0 = -1), by sums of absolute byte differences.
 *
 * Each input byte x becomes u = x + 128 (x ^ 0x80) and each weight s a mask byte m (0x00 for +1, 0xFF
 * for -1), so |u - m| = s * u + 255 * [s = -1], and 4 products cost one USADA8 on cores with the DSP
 * extension. The int8 accumulator bias + sum s * (x + input_offset) is then
 *   bias' + sum |u - m|,  bias' = bias + (input_offset - 128) * sum s - 255 * (number of -1 weights),
 * so `bias` must hold bias' (folded offline, in int32; input_offset enters only through it). The masks
 * are decoded once per call from the packed rows into scratch (4 per nibble, through a 16-word table),
 * so the flash keeps 1 bit per weight; each pixel's input is converted once into a column of words
 * (bytes past in_c are 0, as are their masks: they add nothing).
 * Requantization is the decode-once kernels' (tg_lowbit_x.h): records built per call from bias', mult
 * and shift (rq_words TG_RQ_RS or TG_RQ_GEN, which the lowering checks exact offline), then the output
 * offset and the clamp. Cores without the DSP extension run the same arithmetic in plain C.
 *
 * Scratch (bytes, word aligned; k4 = ceil(in_c / 4), blocks = ceil(out_c / 4)):
 *   blocks * 16 * rq_words (records) + blocks * 16 * k4 (masks, per block and group 4 rows' words)
 *   + 4 * k4 (the column)
 * Returns TG_OK, or TG_ERROR for an unknown record size, a missing bias or a short row.
 */
#ifndef TG_CONV2D_USAD_H
#define TG_CONV2D_USAD_H

#include "tg_common.h"

int32_t tg_conv2d_usad_get_buffer_size(int32_t rq_words, int32_t in_c, int32_t out_c);

int tg_conv2d_usad(int8_t *scratch, const uint8_t *weights, int32_t row_bytes, int32_t output_offset,
    int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t rq_words, int32_t pixels,
    int32_t in_c, const int8_t *input, const int32_t *bias, int32_t out_c, int8_t *output);

#endif /* TG_CONV2D_USAD_H */
