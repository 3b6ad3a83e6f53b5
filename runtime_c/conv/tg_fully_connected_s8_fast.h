/* tinygen runtime: fast int8 fully connected layer (tg_gemm_s8_fast.h, one batch row at a time).
 *
 * Same result as tg_fully_connected_s8 (TFLM FullyConnected, bit-exact) when the filter offset is 0.
 * Precomputed by the lowering: filter rows packed as in tg_gemm_s8_fast.h (wide: 0 raw, 1 pre-extended,
 * 2 split: the lowering's choice for one batch);
 * quant: rq_words int32 per output (tg_dsp.h records, bias folded with the input offset).
 * Input rows are read in place in groups of 4 values, so accum_depth % 4 == 0 (else the lowering
 * does not pick this kernel). No scratch. Returns TG_OK.
 *
 * tg_fully_connected_s8_fast_x: the same (wide = 1 or 2) with each input row extended once into
 * scratch (tg_gemm_s8_extend: 2 * accum_depth bytes, word aligned) and shared by all blocks of 4
 * outputs (tg_gemm_s8_fast_x).
 */
#ifndef TG_FULLY_CONNECTED_S8_FAST_H
#define TG_FULLY_CONNECTED_S8_FAST_H

#include "tg_common.h"

int tg_fully_connected_s8_fast(int32_t output_offset, int32_t act_min, int32_t act_max, int32_t batches,
    int32_t accum_depth, const int8_t *input, int32_t out_depth, const int32_t *filter, int32_t wide,
    const int32_t *quant, int32_t rq_words, int8_t *output);

int32_t tg_fully_connected_s8_fast_x_get_buffer_size(int32_t accum_depth);

int tg_fully_connected_s8_fast_x(int8_t *scratch, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t batches, int32_t accum_depth, const int8_t *input, int32_t out_depth, const int32_t *filter,
    int32_t wide, const int32_t *quant, int32_t rq_words, int8_t *output);

#endif /* TG_FULLY_CONNECTED_S8_FAST_H */
