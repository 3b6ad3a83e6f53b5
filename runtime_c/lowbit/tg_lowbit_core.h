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

#endif /* TG_LOWBIT_CORE_H */
