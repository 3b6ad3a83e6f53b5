/* tinygen runtime: TFLM's int32 MultiplyByQuantizedMultiplier (tg_requantize) prepared once per call, in
 * one-multiply forms with the constants hoisted. Internal (LSTM, SVDF).
 *
 * For mult in [0, 2^31) (what QuantizeMultiplier gives), tg_requantize(x, mult, shift) equals
 *   shift >= 0: (x << shift wrapped to int32) * mult + 2^30, shifted right by 31 (SRDHM's nudge and its
 *               truncation toward zero meet in floor((a * b + 2^30) / 2^31); a == b == INT32_MIN cannot
 *               happen with mult < 2^31);
 *   shift < 0:  x * mult + 2^30 + 2^(30 - shift) - [x < 0] * 2^31, shifted right by 32 - shift (SRDHM and
 *               the rounding division by 2^-shift in one step).
 */
#ifndef TG_RQ_PREP_H
#define TG_RQ_PREP_H

#include "tg_common.h"
#include "tg_dsp.h"

/* the two forms on their constants (shared with tg_lstm_core.h's records) */
static inline int32_t tg_rq_ls_form(int32_t x, int32_t mult, int32_t shift)
{
    const int32_t a = (int32_t)((uint32_t)x << shift);
    return (int32_t)(((int64_t)a * mult + ((int64_t)1 << 30)) >> 31);
}

static inline int32_t tg_rq_rs_form(int32_t x, int32_t mult, int64_t round, int32_t post)
{
    const int64_t prod = (int64_t)x * mult + round - ((int64_t)(x < 0) << 31);
    return (int32_t)(prod >> 32) >> post;
}

/* x saturated to a signed `bits`-bit integer, bits a constant (SSAT #bits on the device) */
#if TG_DSP_EMULATED
#define TG_RQ_SAT(x, bits) tg_emu_s32(tg_emu_ssat((x), (bits))) /* ssat x, #bits, x */
#elif TG_HAS_DSP
#define TG_RQ_SAT(x, bits) __ssat((x), (bits))
#else
#define TG_RQ_SAT(x, bits) tg_clamp((x), -(1 << ((bits) - 1)), (1 << ((bits) - 1)) - 1)
#endif

typedef struct {
    int32_t mult;
    int32_t shift;
    int32_t post;  /* shift < 0: -shift - 1 (the right shift after taking the high word) */
    int64_t round; /* shift < 0: 2^30 + 2^(30 - shift) */
} tg_rqp_t;

static inline tg_rqp_t tg_rqp_make(int32_t mult, int32_t shift)
{
    tg_rqp_t r = {mult, shift, 0, 0};
    if (shift < 0) {
        r.round = ((int64_t)1 << 30) + ((int64_t)1 << (30 - shift));
        r.post = -shift - 1;
    }
    return r;
}

/* the left-shift form (r->shift >= 0) */
static inline int32_t tg_rqp_ls(int32_t x, const tg_rqp_t *r)
{
    return tg_rq_ls_form(x, r->mult, r->shift);
}

/* the right-shift form (r->shift < 0) */
static inline int32_t tg_rqp_rs(int32_t x, const tg_rqp_t *r)
{
    return tg_rq_rs_form(x, r->mult, r->round, r->post);
}

/* either form; rs: 1 or 0 when the caller knows the form (a constant), -1 to test r->shift */
TG_ALWAYS_INLINE int32_t tg_rqp(int32_t x, const tg_rqp_t *r, int32_t rs)
{
    if (rs < 0) {
        rs = r->shift < 0;
    }
    return rs ? tg_rqp_rs(x, r) : tg_rqp_ls(x, r);
}

#endif /* TG_RQ_PREP_H */
