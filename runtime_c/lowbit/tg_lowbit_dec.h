/* tinygen runtime: what the decode-once low-bit kernels (tg_*_lbx.c) share: one packed row to int16
 * values, and one channel's requantization record. Internal; the contract is in tg_lowbit_x.h. */
#ifndef TG_LOWBIT_DEC_H
#define TG_LOWBIT_DEC_H

#include "tg_lowbit_x.h"
#include "tg_lowbit_core.h"

/* 1 for the formats with a 4-bit field per value (INT4, 4-bit PALETTE), whose values come from the
 * 16-entry table tg_lbx_lut fills (the int4 values or the codebook; zeros for the other formats) */
static inline int tg_lbx_nibbles(int32_t format, int32_t bits)
{
    return format == TG_WF_INT4 || (format == TG_WF_PALETTE && bits == 4);
}

static inline void tg_lbx_lut(int32_t format, int32_t bits, const int8_t *codebook, int16_t lut[16])
{
    const int nib = tg_lbx_nibbles(format, bits);
    for (int32_t v = 0; v < 16; ++v) {
        lut[v] = (int16_t)(format == TG_WF_INT4 ? (v ^ 8) - 8 : nib ? codebook[v] : 0);
    }
}

/* Row `row` (n values in one of tg_lowbit.h's formats) as int16 at dst[0..n), and dst[n..n_pad) = 0.
 * 4-bit formats go a byte (two values) at a time through lut (tg_lbx_lut), 2- and 3-bit palettes through
 * a bit reader, sign planes a byte (8 values) at a time; their values are +-scale and 0 (scale: 2^wshift). */
static inline void tg_lbx_row(int32_t format, int32_t bits, const int8_t *codebook, const int16_t *lut,
                              const uint8_t *row, int32_t row_bytes, int32_t n, int32_t n_pad, int32_t scale,
                              int16_t *dst)
{
    int32_t j = 0;
    if (tg_lbx_nibbles(format, bits)) {
        for (; j + 2 <= n; j += 2) {
            const uint32_t b = row[j >> 1];
            dst[j] = lut[b & 15u];
            dst[j + 1] = lut[b >> 4];
        }
        if (j < n) {
            dst[j] = lut[row[j >> 1] & 15u];
            ++j;
        }
    } else if (format == TG_WF_PALETTE) {
        const uint32_t mask = (1u << bits) - 1u;
        uint32_t buf = 0;
        int32_t have = 0;
        const uint8_t *p = row;
        for (; j < n; ++j) {
            if (have < bits) {
                buf |= (uint32_t)*p++ << have;
                have += 8;
            }
            dst[j] = codebook[buf & mask];
            buf >>= bits;
            have -= bits;
        }
    } else { /* TERNARY: non-zero plane, then negative plane, row_bytes / 2 each; BINARY: 1 = +1, 0 = -1 */
        const int32_t ternary = format == TG_WF_TERNARY;
        const uint8_t *neg = row + (row_bytes >> 1);
        for (int32_t i = 0; j < n; ++i) {
            uint32_t keep = ternary ? row[i] : 0xFFu;
            uint32_t sg = (ternary ? neg[i] : ~(uint32_t)row[i]) & keep;
            for (int32_t k = 0; k < 8 && j < n; ++k, ++j) {
                /* +1, -1 or 0 (times scale): the value's bit, minus twice the bit when negative */
                dst[j] = (int16_t)(((int32_t)(keep & 1u) - (int32_t)((sg & 1u) << 1)) * scale);
                keep >>= 1;
                sg >>= 1;
            }
        }
    }
    for (; j < n_pad; ++j) {
        dst[j] = 0;
    }
}

/* The bits of a field value in tg_conv2d_lbx's rows and tg_depthwise_conv2d_lbx's rows below 4 bits (2- / 3-bit
 * palettes, TERNARY 2, BINARY 1), else 0 */
static inline int32_t tg_lbx_field_bits(int32_t format, int32_t bits)
{
    if (format == TG_WF_PALETTE) {
        return bits < 4 ? bits : 0;
    }
    return format == TG_WF_TERNARY ? 2 : format == TG_WF_BINARY ? 1 : 0;
}

/* The values of those fields: a 2- / 3-bit palette's codebook; TERNARY's indices non-zero | negative << 1
 * into {0, +s, 0, -s} and BINARY's into {-s, +s}, s = 2^wshift (tg_lowbit_x.h) */
static inline void tg_lbx_small_book(int32_t format, int32_t bits, const int8_t *codebook, int32_t wshift,
                                     int16_t book[8])
{
    const int16_t s = (int16_t)(1 << wshift);
    for (int32_t i = 0; i < 8; ++i) {
        book[i] = format == TG_WF_PALETTE && i < (1 << bits) ? codebook[i] : 0;
    }
    if (format == TG_WF_TERNARY) {
        book[1] = s;
        book[3] = (int16_t)-s;
    } else if (format == TG_WF_BINARY) {
        book[0] = (int16_t)-s;
        book[1] = s;
    }
}

/* 1 when wshift suits the format (tg_lowbit_x.h): 0, or 1..max for TERNARY and BINARY */
static inline int tg_lbx_wshift_ok(int32_t format, int32_t wshift, int32_t max)
{
    return wshift == 0 || ((format == TG_WF_TERNARY || format == TG_WF_BINARY) && wshift > 0 && wshift <= max);
}

/* The values of a 4-bit byte b (low nibble first) as one word of int16 pairs: lut[b & 15] | lut[b >> 4] << 16 */
static inline uint32_t tg_lbx_pair(const int16_t *lut, uint32_t b)
{
    return (uint32_t)(uint16_t)lut[b & 15u] | ((uint32_t)(uint16_t)lut[b >> 4] << 16);
}

/* tab[b] = tg_lbx_pair(lut, b) for the 256 bytes (built once per call when a layer decodes enough
 * bytes to pay for it: tg_conv2d_lbx_tab_words) */
static inline void tg_lbx_pair_tab(const int16_t *lut, uint32_t *tab)
{
    for (uint32_t hi = 0; hi < 16u; ++hi, tab += 16) {
        const uint32_t h = (uint32_t)(uint16_t)lut[hi] << 16;
        for (uint32_t lo = 0; lo < 16u; ++lo) {
            tab[lo] = (uint32_t)(uint16_t)lut[lo] | h;
        }
    }
}

/* Channel c's entries in tg_dsp.h's grouped records (4 biases, then 4 records of rq_words - 1 int32):
 * the bias bias_eff (tg_lbx_record), then the record's words at r (tg_lbx_rec_words): the multiplier mult
 * and, for shift < 0 (a right shift), the 64-bit
 * rounding constant 2^30 + 2^(30 - shift) and the post shift -shift - 1 (TG_RQ_GEN: pre 0, mask -1);
 * for shift >= 0, rounding 2^31, post 0, pre shift + 1, mask 0. offset << post is added to the
 * rounding high word (the folded output offset; 0 for none). */
static inline void tg_lbx_rec_words(int32_t *r, int32_t rq_words, int32_t mult, int32_t shift, int32_t offset)
{
    r[0] = mult;
    if (shift < 0) {
        const int32_t e = 30 - shift; /* the rounding constant 2^30 + 2^e, e in 31..61 */
        uint32_t lo = 1u << 30, hi = 0;
        if (e < 32) {
            lo += 1u << e;
        } else {
            hi = 1u << (e - 32);
        }
        r[1] = (int32_t)lo;
        r[3] = -shift - 1;
        r[2] = (int32_t)(hi + ((uint32_t)offset << r[3]));
        if (rq_words == TG_RQ_GEN) {
            r[4] = 0;
            r[5] = -1;
        }
    } else {
        r[1] = INT32_MIN;
        r[2] = offset;
        r[3] = 0;
        r[4] = shift + 1;
        r[5] = 0;
    }
}

static inline void tg_lbx_record(int32_t *quant, int32_t rq_words, int32_t c, int32_t bias_eff, int32_t mult,
                                 int32_t shift, int32_t offset)
{
    int32_t *g = quant + (c >> 2) * 4 * rq_words;
    g[c & 3] = bias_eff;
    tg_lbx_rec_words(g + 4 + (c & 3) * (rq_words - 1), rq_words, mult, shift, offset);
}

/* The records of channels out_c .. (out_c rounded up to 4) - 1: all zero (their outputs are not stored) */
static inline void tg_lbx_pad_records(int32_t *quant, int32_t rq_words, int32_t out_c)
{
    if (out_c & 3) {
        int32_t *g = quant + (out_c >> 2) * 4 * rq_words;
        for (int32_t i = out_c & 3; i < 4; ++i) {
            g[i] = 0;
            for (int32_t w = 0; w < rq_words - 1; ++w) {
                g[4 + i * (rq_words - 1) + w] = 0;
            }
        }
    }
}

#endif /* TG_LOWBIT_DEC_H */
