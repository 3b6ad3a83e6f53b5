/* tinygen runtime: what the low-bit weight kernels (tg_conv2d_lb.c, tg_depthwise_conv2d_lb.c,
 * tg_fully_connected_lb.c) share: the format check, the INT4 / PALETTE row decoder and the
 * requantization of one output value. Internal; the contract and row formats are in tg_lowbit.h.
 */
#ifndef TG_LOWBIT_CORE_H
#define TG_LOWBIT_CORE_H

#include "tg_lowbit.h"
#include "tg_dsp.h"

static inline int tg_lb_known_format(int32_t format, int32_t bits)
{
    if (format == TG_WF_PALETTE) {
        return bits >= 1 && bits <= 4;
    }
    return format == TG_WF_INT4 || format == TG_WF_TERNARY || format == TG_WF_BINARY;
}

/* Decode an INT4 or PALETTE row of n values into int8; returns 0 for another format. */
static inline int tg_lb_decode_row(int32_t format, int32_t bits, const int8_t *codebook, const uint8_t *row,
                                   int32_t n, int8_t *dst)
{
    if (format == TG_WF_INT4) {
        for (int32_t j = 0; j < n; ++j) {
            const uint32_t nib = (uint32_t)(row[j >> 1] >> ((j & 1) * 4)) & 0xFu;
            dst[j] = (int8_t)((int32_t)(nib ^ 8u) - 8);
        }
        return 1;
    }
    if (format == TG_WF_PALETTE) {
        const uint32_t mask = (1u << bits) - 1u;
        for (int32_t j = 0; j < n; ++j) {
            const int32_t at = j * bits;
            const int32_t byte = at >> 3;
            const int32_t sh = at & 7;
            uint32_t word = row[byte];
            if (sh + bits > 8) {
                word |= (uint32_t)row[byte + 1] << 8;
            }
            dst[j] = codebook[(word >> sh) & mask];
        }
        return 1;
    }
    return 0;
}

/* TERNARY / BINARY rows as int8 weights: dst[j] = 1, -1 or 0 (the conv and depthwise kernels then run
 * the same multiply-accumulate loops as for INT4 / PALETTE: SMLAD / SMLABB are one instruction each,
 * fewer than adding masked inputs lane by lane). */
static inline void tg_lb_decode_signs(int32_t format, const uint8_t *row, int32_t plane_bytes, int32_t n,
                                      int8_t *dst)
{
    for (int32_t j = 0; j < n; ++j) {
        const int32_t bit = (row[j >> 3] >> (j & 7)) & 1;
        if (format == TG_WF_BINARY) {
            dst[j] = (int8_t)(bit ? 1 : -1);
        } else {
            const int32_t neg = (row[plane_bytes + (j >> 3)] >> (j & 7)) & 1;
            dst[j] = (int8_t)(bit ? (neg ? -1 : 1) : 0);
        }
    }
}

/* out = clamp(requantize(acc + bias[c]) + output_offset, act_min, act_max) with channel c's multiplier (tg_lowbit.h) */
static inline int8_t tg_lb_finish(int32_t acc, const int32_t *bias, int32_t c, const int16_t *mult,
                                  const int8_t *shift, int32_t output_offset, int32_t act_min, int32_t act_max)
{
    if (bias != NULL) {
        acc += bias[c];
    }
    const int32_t m = tg_lb_mult(mult, shift, c);
    const int32_t sh = tg_lb_shift(shift, c);
    /* right shifts (the usual case) in one 64-bit multiply-add, bit-identical to tg_requantize */
    const int32_t out = (sh < 0 ? tg_requantize_rs(acc, m, -sh) : tg_requantize(acc, m, sh)) + output_offset;
    return (int8_t)tg_clamp(out, act_min, act_max);
}

/* The requantization of a block of 4 output channels, prepared once per block as tg_dsp.h's records:
 * bias4, then per channel (mult, 64-bit rounding constant, post shift) for TG_RQ_RS when every channel
 * shifts right, else (..., pre shift, sign mask) for TG_RQ_GEN; each output then costs one SMLAL and
 * shifts, bit-identical to tg_lb_finish. words 0: a left-shifting channel whose accumulator bound
 * (|bias| + 255 * 128 * n) could overflow the pre shift; tg_lb_finish per output instead. */
typedef struct {
    int32_t words;
    int32_t bias4[4];
    int32_t rec[24];
} tg_lb_block_rq;

static inline void tg_lb_block_rq_init(tg_lb_block_rq *q, const int32_t *bias, int32_t c0, int32_t nb,
                                       const int16_t *mult, const int8_t *shift, int32_t n)
{
    int32_t left = 0;
    for (int32_t r = 0; r < 4; ++r) {
        left |= tg_lb_shift(shift, c0 + TG_MIN(r, nb - 1)) >= 0;
    }
    q->words = left ? TG_RQ_GEN : TG_RQ_RS;
    int32_t *rec = q->rec;
    for (int32_t r = 0; r < 4; ++r) {
        const int32_t c = c0 + TG_MIN(r, nb - 1);
        const int32_t sh = tg_lb_shift(shift, c);
        const int32_t b = bias != NULL ? bias[c] : 0;
        const int32_t m = tg_lb_mult(mult, shift, c);
        q->bias4[r] = b;
        rec[0] = m;
        if (sh < 0) {
            const uint64_t round = ((uint64_t)1 << 30) + ((uint64_t)1 << (30 - sh));
            rec[1] = (int32_t)(uint32_t)round;
            rec[2] = (int32_t)(round >> 32);
            rec[3] = -sh - 1;
            if (left) {
                rec[4] = 0;
                rec[5] = -1;
            }
        } else {
            const int64_t bound = (int64_t)(b < 0 ? -(int64_t)b : b) + (int64_t)255 * 128 * n;
            if (m != 0 && (bound << (sh + 1)) >= ((int64_t)1 << 31)) {
                q->words = 0;
                return;
            }
            rec[1] = (int32_t)((uint32_t)1 << 31);
            rec[2] = 0;
            rec[3] = 0;
            rec[4] = sh + 1;
            rec[5] = 0;
        }
        rec += left ? TG_RQ_GEN - 1 : TG_RQ_RS - 1;
    }
}

/* out[r] for r < nb from acc[r] of channels c0 + r, one tg_lb_finish each */
static inline void tg_lb_block_finish(const int32_t acc[4], int32_t nb, const int32_t *bias, int32_t c0,
                                      const int16_t *mult, const int8_t *shift, int32_t output_offset,
                                      int32_t act_min, int32_t act_max, int8_t *out)
{
    for (int32_t r = 0; r < nb; ++r) {
        out[r] = tg_lb_finish(acc[r], bias, c0 + r, mult, shift, output_offset, act_min, act_max);
    }
}

/* The block's outputs: when the block is full and has records (fast = q->words && nb == 4, hoisted per
 * block), tg_rq4_store (one SMLAL per output, then SSAT / BFI and one word store); otherwise
 * tg_lb_block_finish. Both give the same bytes. */
TG_ALWAYS_INLINE void tg_lb_store4(const tg_lb_block_rq *q, int32_t fast, int32_t a0, int32_t a1, int32_t a2,
                                   int32_t a3, int32_t nb, const int32_t *bias, int32_t c0, const int16_t *mult,
                                   const int8_t *shift, int32_t output_offset, int32_t act_min, int32_t act_max,
                                   int8_t *out)
{
    if (fast) {
        a0 += q->bias4[0];
        a1 += q->bias4[1];
        a2 += q->bias4[2];
        a3 += q->bias4[3];
        if (q->words == TG_RQ_RS) {
            tg_rq4_store(a0, a1, a2, a3, q->rec, TG_RQ_RS, output_offset, act_min, act_max, out);
        } else {
            tg_rq4_store(a0, a1, a2, a3, q->rec, TG_RQ_GEN, output_offset, act_min, act_max, out);
        }
        return;
    }
    const int32_t acc[4] = {a0, a1, a2, a3};
    tg_lb_block_finish(acc, nb, bias, c0, mult, shift, output_offset, act_min, act_max, out);
}

#endif /* TG_LOWBIT_CORE_H */
