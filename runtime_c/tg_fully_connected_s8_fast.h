/* tinygen runtime: fast int8 fully connected layer (2x2 blocked GEMM over pairs of batches).
 *
 * Same result as tg_fully_connected_s8 (TFLM FullyConnected, bit-exact) when the filter offset is 0
 * and every requantization shift is a right shift. Precomputed by the lowering: filter rows padded
 * to a multiple of 4 and packed as in tg_gemm_s8_fast.h; quant: 5 int32 per output as in
 * tg_gemm_s8_fast.h (bias[o] + input_offset * sum of row o, mult, rounding term, rshift - 1). The input rows are read in groups of 4: accum_depth padded up to a
 * multiple of 4 reads past each row into the next (or past the input): only when accum_depth % 4 == 0
 * may input rows be used directly, else the lowering does not pick this kernel.
 * Scratch: tg_fully_connected_s8_fast_get_buffer_size bytes (two int16 columns), 4-byte aligned.
 * Returns TG_OK.
 */
#ifndef TG_FULLY_CONNECTED_S8_FAST_H
#define TG_FULLY_CONNECTED_S8_FAST_H

#include "tg_common.h"

int32_t tg_fully_connected_s8_fast_get_buffer_size(int32_t accum_depth);

int tg_fully_connected_s8_fast(int8_t *scratch,
                               int32_t output_offset, int32_t act_min, int32_t act_max,
                                                              int32_t batches, int32_t accum_depth, const int8_t *input,
                               int32_t out_depth, const int32_t *filter, const int32_t *quant,
                                        int8_t *output);

#endif /* TG_FULLY_CONNECTED_S8_FAST_H */
