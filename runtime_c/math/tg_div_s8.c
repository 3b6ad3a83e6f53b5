/* tinygen runtime: int8 DIV; contract in tg_math_binary.h. */
#include "tg_math_binary.h"
#include "tg_fixedpoint.h"

/* Redundant sign bits of x (31 for 0 and -1). */
static inline int32_t tg_leading_sign_bits(int32_t x)
{
    return tg_fp_clz32(x >= 0 ? (uint32_t)x : ~(uint32_t)x) - 1;
}

/* Rounding right shift by 0 .. 63 bits as the TFLM build does it: past 31 the mask is all ones and the
 * shift count wraps modulo 32. */
static inline int32_t tg_wide_rounding_shift(int32_t x, int32_t exponent)
{
    if (exponent <= 31) {
        return tg_rdbpot(x, exponent);
    }
    return (x >> (exponent - 32)) + (x > (x < 0 ? 0 : -1) ? 1 : 0);
}

static inline int32_t tg_div_element(int32_t a, int32_t b, int32_t off1, int32_t off2, int32_t out_zp,
    int32_t mult, int32_t shift, int32_t act_min, int32_t act_max)
{
    int32_t v1 = a + off1;
    int32_t v2 = b + off2;
    if (v2 < 0) {
        v1 = -v1;
        v2 = -v2;
    }
    int32_t recip_shift = -1;  /* v2 == 0: 32 leading zeros, normalised value 0 - 1 (TFLM's result) */
    const int32_t inv = v2 == 0 ? tg_fp_one_over_one_plus_x(INT32_MIN) : tg_fp_reciprocal(v2, 31, &recip_shift);
    const int32_t headroom = tg_leading_sign_bits(v1);
    const int32_t quotient = tg_srdhm((int32_t)((uint32_t)v1 << headroom), inv);
    const int32_t scaled = tg_srdhm(quotient, mult);
    return tg_clamp(tg_wide_rounding_shift(scaled, recip_shift + headroom - shift) + out_zp, act_min, act_max);
}

int tg_div_s8(int32_t off1, int32_t off2, int32_t out_zp, int32_t mult, int32_t shift, int32_t act_min,
    int32_t act_max, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1,
    int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2,
    int32_t in2_s3, const int8_t *input2, int8_t *output)
{
#define TG_T1 int8_t
#define TG_T2 int8_t
#define TG_ELEMENT(p1, p2) (int8_t)tg_div_element(*(p1), *(p2), off1, off2, out_zp, mult, shift, act_min, act_max)
#include "tg_broadcast_walk.inc"
#undef TG_T1
#undef TG_T2
    return TG_OK;
}
