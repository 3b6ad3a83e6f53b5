/* tinygen runtime: in-place capable int8 1x1 convolution on the fast GEMM core (tg_gemm_s8_fast.h).
 *
 * Same math and order as tg_inplace_conv1x1_s8 (each input pixel copied to scratch before its output
 * pixel is written; pixels run backward when out_c >= in_c), with the fast lowering's constants:
 * filter packed as tg_gemm_s8_fast.h (wide: pre-extended), quant rq_words int32 per channel
 * (tg_dsp.h, bias folded with the input offset). in_c % 4 == 0.
 * wide = TG_GEMM_EXTEND (tg_gemm_s8_fast.h): each input pixel extended once into scratch and shared by
 * all blocks of 4 channels (tg_gemm_s8_fast_x).
 * Scratch: in_c bytes (2 * in_c, word aligned, when extended). Returns TG_OK, or TG_ERROR on bad sizes.
 */
#ifndef TG_INPLACE_CONV1X1_S8_FAST_H
#define TG_INPLACE_CONV1X1_S8_FAST_H

#include "tg_common.h"

int32_t tg_inplace_conv1x1_s8_fast_get_buffer_size(int32_t in_c, int32_t wide);

int tg_inplace_conv1x1_s8_fast(int8_t *scratch, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t pixels, int32_t in_c, const int8_t *input, const int32_t *filter, int32_t wide,
    const int32_t *quant, int32_t rq_words, int32_t out_c, int8_t *output);

#endif /* TG_INPLACE_CONV1X1_S8_FAST_H */
