/* tinygen runtime: int16 ADD / SUB, same shapes, zero points 0; contract in tg_add_s16_fast.h. */
#include "tg_add_s16_fast.h"

#include "tg_dsp.h"

/* (a * b + 2^31) >> 32 */
static inline int32_t tg_mulhr(int32_t a, int32_t b)
{
#if TG_HAS_DSP && !TG_DSP_EMULATED
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
#endif
}

/* one rescale: round half away from zero of y / 2^e (tg_rdbpot), for |y| <= 2^30 and e <= 29; half =
 * 2^(e-1) and neg = 1 when e > 0, both 0 when e == 0 */
typedef struct {
    int32_t mult;
    int32_t exp;
    int32_t half;
    uint32_t neg;
} tg_rescale16;

static inline tg_rescale16 tg_rescale16_make(int32_t mult, int32_t exp)
{
    tg_rescale16 r;
    r.mult = mult;
    r.exp = exp;
    r.half = exp > 0 ? (int32_t)(1u << (exp - 1)) : 0;
    r.neg = exp > 0 ? 1u : 0u;
    return r;
}

static inline int32_t tg_rescale16_apply(int32_t x, const tg_rescale16 *r)
{
    const int32_t y = tg_mulhr(x, r->mult);
    return (y + r->half - (int32_t)(((uint32_t)y >> 31) & r->neg)) >> r->exp;
}

int tg_add_s16_fast(int32_t sub, int32_t in1_mult, int32_t in1_exp, int32_t in2_mult, int32_t in2_exp,
    int32_t out_mult, int32_t out_exp, int32_t act_min, int32_t act_max, int32_t size, const int16_t *input1,
    const int16_t *input2, int16_t *output)
{
    const tg_rescale16 r1 = tg_rescale16_make(in1_mult, in1_exp);
    const tg_rescale16 r2 = tg_rescale16_make(in2_mult, in2_exp);
    const tg_rescale16 ro = tg_rescale16_make(out_mult, out_exp);
    for (int32_t i = 0; i < size; ++i) {
        const int32_t a = tg_rescale16_apply(input1[i] * 65536, &r1);
        const int32_t b = tg_rescale16_apply(input2[i] * 65536, &r2);
        const int32_t raw = sub ? a - b : a + b;
        const int32_t out = tg_rescale16_apply(raw * 2, &ro);
        output[i] = (int16_t)(out < act_min ? act_min : (out > act_max ? act_max : out));
    }
    return TG_OK;
}
