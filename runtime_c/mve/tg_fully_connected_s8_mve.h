/* tinygen runtime: Helium (MVE) int8 fully connected layer, one batch row at a time through
 * tg_gemm_s8_mve (filter int8 as stored, offset 0; biases with the input offset folded in; left_shift 0
 * when no channel's shift is positive).
 * Same result as tg_fully_connected_s8 (TFLM FullyConnected, bit-exact). No scratch. Returns TG_OK.
 */
#ifndef TG_FULLY_CONNECTED_S8_MVE_H
#define TG_FULLY_CONNECTED_S8_MVE_H

#include "tg_common.h"

int tg_fully_connected_s8_mve(int32_t output_offset, int32_t act_min, int32_t act_max, int32_t batches,
    int32_t accum_depth, const int8_t *input, int32_t out_depth, const int8_t *filter, const int32_t *rq,
    int32_t left_shift, int8_t *output);

#endif /* TG_FULLY_CONNECTED_S8_MVE_H */
