/* tinygen runtime: Helium (MVE) int8 fully connected layer (see tg_fully_connected_s8_mve.h). */
#include "tg_fully_connected_s8_mve.h"

#include "tg_gemm_s8_mve.h"

int tg_fully_connected_s8_mve(int32_t output_offset, int32_t act_min, int32_t act_max, int32_t batches,
    int32_t accum_depth, const int8_t *input, int32_t out_depth, const int8_t *filter, const int32_t *rq,
    int32_t left_shift, int8_t *output)
{
    for (int32_t b = 0; b < batches; b++) {
        tg_gemm_s8_mve(input + b * accum_depth, accum_depth, filter, out_depth, rq, left_shift, output_offset, act_min,
                       act_max, output + b * out_depth);
    }
    return TG_OK;
}
