/* tinygen runtime: fast int8 ADD / SUB; contract in tg_add_s8_fast.h. */
#include "tg_add_s8_fast.h"

#include "tg_dsp.h"

/* hi32(raw * mult + round - [raw < 0] * 2^31) >> post, the output offset already in round_hi */
TG_ALWAYS_INLINE int32_t tg_add_rq(int32_t raw, int32_t mult, uint32_t round_lo, int32_t round_hi, int32_t post)
{
#if TG_DSP_EMULATED
    /* the assembly below, one statement per instruction (tg_dsp_emul.h) */
    uint32_t lo, hi, s, c;
    s = tg_emu_asr((uint32_t)raw, 31);                      /* asr s, x, #31 */
    lo = tg_emu_adds(round_lo, s << 31, &c);                /* adds lo, rlo, s, lsl #31 */
    hi = tg_emu_adc((uint32_t)round_hi, s, c);              /* adc hi, rhi, s */
    tg_emu_smlal(&lo, &hi, (uint32_t)raw, (uint32_t)mult);  /* smlal lo, hi, x, m */
    return tg_emu_s32(hi) >> post;
#elif TG_HAS_DSP
    uint32_t lo;
    int32_t hi, s;
    __asm__("asr %[s], %[x], #31\n\t"
            "adds %[lo], %[rlo], %[s], lsl #31\n\t"
            "adc %[hi], %[rhi], %[s]\n\t"
            "smlal %[lo], %[hi], %[x], %[m]"
            : [lo] "=&r"(lo), [hi] "=&r"(hi), [s] "=&r"(s)
            : [x] "r"(raw), [m] "r"(mult), [rlo] "r"(round_lo), [rhi] "r"(round_hi)
            : "cc");
    return hi >> post;
#else
    const int64_t round = (int64_t)(((uint64_t)(uint32_t)round_hi << 32) | round_lo) - ((int64_t)(raw < 0) << 31);
    return (int32_t)(((int64_t)raw * mult + round) >> 32) >> post;
#endif
}

int tg_add_s8_fast(const int32_t *table1, const int32_t *table2, const int32_t *out_rq, int32_t act_min,
    int32_t act_max, int32_t size, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    const int32_t *t1 = table1 + 128;
    const int32_t *t2 = table2 + 128;
    const int32_t mult = out_rq[0];
    const uint32_t round_lo = (uint32_t)out_rq[1];
    const int32_t round_hi = out_rq[2];
    const int32_t post = out_rq[3];
    int32_t i = 0;
    for (; i + 4 <= size; i += 4) {
        const int32_t v0 = tg_add_rq(t1[input1[i]] + t2[input2[i]], mult, round_lo, round_hi, post);
        const int32_t v1 = tg_add_rq(t1[input1[i + 1]] + t2[input2[i + 1]], mult, round_lo, round_hi, post);
        const int32_t v2 = tg_add_rq(t1[input1[i + 2]] + t2[input2[i + 2]], mult, round_lo, round_hi, post);
        const int32_t v3 = tg_add_rq(t1[input1[i + 3]] + t2[input2[i + 3]], mult, round_lo, round_hi, post);
        tg_sat4_store(v0, v1, v2, v3, act_min, act_max, output + i);
    }
    for (; i < size; ++i) {
        const int32_t v = tg_add_rq(t1[input1[i]] + t2[input2[i]], mult, round_lo, round_hi, post);
        output[i] = (int8_t)tg_clamp(v, act_min, act_max);
    }
    return TG_OK;
}
