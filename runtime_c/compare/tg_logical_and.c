/* tinygen runtime: LOGICAL_AND on bool; contract in tg_compare.h. */
#include "tg_compare.h"

int tg_logical_and(int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1,
    int32_t in1_s2, int32_t in1_s3, const uint8_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2,
    int32_t in2_s3, const uint8_t *input2, uint8_t *output)
{
#define TG_T uint8_t
#define TG_ELEMENT(a, b) (a) && (b)
#include "tg_compare_walk.inc"
#undef TG_ELEMENT
#undef TG_T
    return TG_OK;
}
