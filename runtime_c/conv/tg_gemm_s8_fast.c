/* tinygen runtime: int8 GEMM core, one column; contract in tg_gemm_s8_fast.h. */
#include "tg_gemm_s8_fast.h"

void tg_gemm_s8_fast(const int8_t *col, int32_t k4, const int32_t *filter, int32_t wide, const int32_t *quant,
    int32_t rq_words, int32_t output_offset, int32_t act_min, int32_t act_max, int32_t out_c, int8_t *out)
{
    tg_gemm_s8_fast_taps(&col, 1, k4, filter, wide, quant, rq_words, output_offset, act_min, act_max, out_c, out);
}
