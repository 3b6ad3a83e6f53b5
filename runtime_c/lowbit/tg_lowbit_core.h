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

/* out = clamp(requantize(acc + bias[c]) + output_offset, act_min, act_max) with channel c's 16-bit multiplier */
static inline int8_t tg_lb_finish(int32_t acc, const int32_t *bias, int32_t c, const int16_t *mult,
                                  const int8_t *shift, int32_t output_offset, int32_t act_min, int32_t act_max)
{
    if (bias != NULL) {
        acc += bias[c];
    }
    const int32_t m = (int32_t)mult[c] * 65536;
    const int32_t sh = shift[c];
    /* right shifts (the usual case) in one 64-bit multiply-add, bit-identical to tg_requantize */
    const int32_t out = (sh < 0 ? tg_requantize_rs(acc, m, -sh) : tg_requantize(acc, m, sh)) + output_offset;
    return (int8_t)tg_clamp(out, act_min, act_max);
}

/* The requantization of a block of 4 output channels, prepared once per block: when every channel
 * shifts right, tg_rq_apply's TG_RQ_RS records (mult, the 64-bit rounding constant, rshift - 1) and the
 * biases, so each output costs one SMLAL and a shift, bit-identical to tg_lb_finish. */
typedef struct {
    int32_t rs;        /* 1: rec and bias4 hold the block's 4 channels */
    int32_t bias4[4];
    int32_t rec[4][4];
} tg_lb_block_rq;

static inline void tg_lb_block_rq_init(tg_lb_block_rq *q, const int32_t *bias, int32_t c0, int32_t nb,
                                       const int16_t *mult, const int8_t *shift)
{
    q->rs = 1;
    for (int32_t r = 0; r < 4; ++r) {
        const int32_t c = c0 + TG_MIN(r, nb - 1);
        const int32_t rsh = -shift[c];
        if (rsh < 1) {
            q->rs = 0;
            return;
        }
        const uint64_t round = ((uint64_t)1 << 30) + ((uint64_t)1 << (30 + rsh));
        q->bias4[r] = bias != NULL ? bias[c] : 0;
        q->rec[r][0] = (int32_t)mult[c] * 65536;
        q->rec[r][1] = (int32_t)(uint32_t)round;
        q->rec[r][2] = (int32_t)(round >> 32);
        q->rec[r][3] = rsh - 1;
    }
}

/* out[r] for r < nb from acc[r] of channels c0 + r */
static inline void tg_lb_block_finish(const tg_lb_block_rq *q, const int32_t acc[4], int32_t nb, const int32_t *bias,
                                      int32_t c0, const int16_t *mult, const int8_t *shift, int32_t output_offset,
                                      int32_t act_min, int32_t act_max, int8_t *out)
{
    if (q->rs) {
        for (int32_t r = 0; r < nb; ++r) {
            const int32_t v = tg_rq_apply(acc[r] + q->bias4[r], q->rec[r], TG_RQ_RS) + output_offset;
            out[r] = (int8_t)tg_clamp(v, act_min, act_max);
        }
        return;
    }
    for (int32_t r = 0; r < nb; ++r) {
        out[r] = tg_lb_finish(acc[r], bias, c0 + r, mult, shift, output_offset, act_min, act_max);
    }
}

#endif /* TG_LOWBIT_CORE_H */
