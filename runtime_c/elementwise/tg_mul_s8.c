/* tinygen runtime: int8 MUL with broadcasting; contract in tg_mul_s8.h. */
#include "tg_mul_s8.h"

int tg_mul_s8(int32_t in1_offset, int32_t in2_offset, int32_t out_offset, int32_t out_mult, int32_t out_shift,
    int32_t act_min, int32_t act_max, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0,
    int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1,
    int32_t in2_s2, int32_t in2_s3, const int8_t *input2, int8_t *output)
{
#define TG_T1 int8_t
#define TG_T2 int8_t
#define TG_ELEMENT(p1, p2) (int8_t)tg_clamp( \
    tg_requantize((*(p1) + in1_offset) * (*(p2) + in2_offset), out_mult, out_shift) + out_offset, act_min, act_max)
#include "tg_broadcast_walk.inc"
#undef TG_T1
#undef TG_T2
    return TG_OK;
}
