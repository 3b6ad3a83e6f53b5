/* tinygen runtime: int8 PRELU (alpha int8), the x >= 0 branch from a 256-entry table; contract in tg_prelu.h. */
#include "tg_prelu.h"

static inline int32_t tg_prelu_s8_element(int32_t q, const int8_t *alpha, int32_t in_offset, int32_t alpha_offset,
                                          int32_t out_offset, const int8_t *pos_table, int32_t neg_mult,
                                          int32_t neg_shift)
{
    const int32_t v = q + in_offset;
    if (v >= 0) {
        return pos_table[q + 128];
    }
    return tg_clamp(tg_requantize(v * (*alpha + alpha_offset), neg_mult, neg_shift) + out_offset, INT8_MIN, INT8_MAX);
}

int tg_prelu_s8(int32_t in_offset, int32_t alpha_offset, int32_t out_offset, const int8_t *pos_table,
    int32_t neg_mult, int32_t neg_shift, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0,
    int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1,
    int32_t in2_s2, int32_t in2_s3, const int8_t *input2, int8_t *output)
{
#define TG_T1 int8_t
#define TG_T2 int8_t
#define TG_ELEMENT(p1, p2) \
    (int8_t)tg_prelu_s8_element(*(p1), p2, in_offset, alpha_offset, out_offset, pos_table, neg_mult, neg_shift)
#include "tg_broadcast_walk.inc"
#undef TG_T1
#undef TG_T2
    return TG_OK;
}
