/* tinygen runtime: the pieces tg_svdf_s8 and tg_svdf_s8_s16 share (contract in tg_svdf.h). Internal. */
#ifndef TG_SVDF_CORE_H
#define TG_SVDF_CORE_H

#include <string.h>

#include "tg_rq_prep.h"
#include "tg_smlad_quad.h"

/* scratch bytes: x as int16 pairs (2 words per group of 4 values), one int32 per filter */
static inline int32_t tg_svdf_scratch_bytes(int32_t input_size, int32_t filters)
{
    return 8 * ((input_size + 3) / 4) + 4 * filters;
}

/* int32 words of one filter's time weights (tg_svdf.h) */
static inline int32_t tg_svdf_time_row_words(int32_t memory, int32_t bits)
{
    if (bits == 16) {
        return (memory + 1) / 2;
    }
    const int32_t g = (memory - 1) / 4, rest = memory - 4 * g;
    return 2 * g + (rest + 1) / 2;
}

#define tg_svdf_sat(x, bits) TG_RQ_SAT(x, bits)

/* v taken modulo 2^bits into the signed `bits`-bit range */
static inline int32_t tg_svdf_wrap(int32_t v, int32_t bits)
{
    const uint32_t half = 1u << (bits - 1);
    return (int32_t)(((uint32_t)v + half) & (2u * half - 1u)) - (int32_t)half;
}

/* The constants of one call */
typedef struct {
    tg_rqp_t rq1, rq2;
    int32_t state_zp, output_zp, memory, filters, groups, row_words;
} tg_svdf_params_t;

static inline void tg_svdf_params(tg_svdf_params_t *p, int32_t filters, int32_t memory, int32_t groups,
    int32_t bits, int32_t mult1, int32_t shift1, int32_t state_zp, int32_t mult2, int32_t shift2, int32_t output_zp)
{
    p->rq1 = tg_rqp_make(mult1, shift1);
    p->rq2 = tg_rqp_make(mult2, shift2);
    p->state_zp = state_zp;
    p->output_zp = output_zp;
    p->memory = memory;
    p->filters = filters;
    p->groups = groups;
    p->row_words = tg_svdf_time_row_words(memory, bits);
}

/* one output from its int32 sum (bias and the rank's time sums, wrapped) */
static inline int32_t tg_svdf_out(int32_t acc, const tg_svdf_params_t *p)
{
    return tg_svdf_sat(tg_rqp(acc, &p->rq2, -1) + p->output_zp, 8);
}

static inline void tg_svdf_write_u32(void *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* the k-th int16 at p (p any alignment) */
static inline int32_t tg_svdf_i16(const void *p, int32_t k)
{
    int16_t v;
    memcpy(&v, (const uint8_t *)p + 2 * k, sizeof v);
    return v;
}

/* One filter's int16 memory s[0..memory) moved left by one with v entering last, and
 * sum_j w[j] * s'[j] (wrapping int32). Pairs of old values go through SMLAD as loaded (unaligned LDR). */
TG_ALWAYS_INLINE int32_t tg_svdf_time_row_s16(int16_t *s, const void *w, int32_t memory, int32_t v)
{
    const uint8_t *wb = (const uint8_t *)w;
    int32_t acc = 0;
    int32_t j = 0;
    for (; j + 4 < memory; j += 4) { /* s'[j..j + 3] = s[j + 1..j + 4], all old */
        const uint32_t p0 = tg_read_u32(s + j + 1), p1 = tg_read_u32(s + j + 3);
        tg_svdf_write_u32(s + j, p0);
        tg_svdf_write_u32(s + j + 2, p1);
        acc = tg_smlad(p0, tg_read_u32(wb + 2 * j), acc);
        acc = tg_smlad(p1, tg_read_u32(wb + 2 * j + 4), acc);
    }
    if (j + 2 < memory) { /* s'[j], s'[j + 1] = s[j + 1], s[j + 2], both old */
        const uint32_t pair = tg_read_u32(s + j + 1);
        tg_svdf_write_u32(s + j, pair);
        acc = tg_smlad(pair, tg_read_u32(wb + 2 * j), acc);
        j += 2;
    }
    if (j + 1 < memory) { /* j == memory - 2: the last old value, then v */
        const int32_t last = s[j + 1];
        s[j] = (int16_t)last;
        s[j + 1] = (int16_t)v;
        const uint32_t pair = ((uint32_t)last & 0xFFFFu) | ((uint32_t)v << 16);
        return tg_smlad(pair, tg_read_u32(wb + 2 * j), acc);
    }
    s[j] = (int16_t)v;
    return (int32_t)((uint32_t)acc + (uint32_t)(tg_svdf_i16(wb, j) * v));
}

/* The same for an int8 memory: groups of 4 old values through SXTB16 and SMLAD, then the rest one by one */
TG_ALWAYS_INLINE int32_t tg_svdf_time_row_s8(int8_t *s, const void *w, int32_t memory, int32_t v)
{
    const uint8_t *wb = (const uint8_t *)w;
    int32_t acc = 0;
    int32_t j = 0;
    for (; j + 4 < memory; j += 4, wb += 8) { /* s'[j..j + 3] = s[j + 1..j + 4], all old */
        const uint32_t word = tg_read_u32(s + j + 1);
        tg_svdf_write_u32(s + j, word);
        acc = tg_smlad(tg_read_u32(wb), tg_sxtb16(word), acc);
        acc = tg_smlad(tg_read_u32(wb + 4), tg_sxtb16_r8(word), acc);
    }
    uint32_t sum = (uint32_t)acc;
    int32_t k = 0;
    for (; j + 1 < memory; ++j, ++k) {
        const int32_t old = s[j + 1];
        s[j] = (int8_t)old;
        sum += (uint32_t)(tg_svdf_i16(wb, k) * old);
    }
    s[j] = (int8_t)v;
    return (int32_t)(sum + (uint32_t)(tg_svdf_i16(wb, k) * v));
}

#endif /* TG_SVDF_CORE_H */
