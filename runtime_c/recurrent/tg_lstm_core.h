/* tinygen runtime: the pieces tg_lstm_s8 and tg_lstm_s16 share (contract in tg_lstm.h). Internal. */
#ifndef TG_LSTM_CORE_H
#define TG_LSTM_CORE_H

#include "tg_dsp.h"
#include "tg_sigmoid_s16.h"
#include "tg_rq_prep.h"
#include "tg_smlad_quad.h"

#define TG_LSTM_Q_FC 16
#define TG_LSTM_Q_IC 18
#define TG_LSTM_Q_HO 20
#define TG_LSTM_Q_HZP 22
#define TG_LSTM_Q_CLIP 25
#define TG_LSTM_Q_CELL_TANH 26
#define TG_LSTM_Q_SIGMOID 28
#define TG_LSTM_Q_GATE_TANH 30

/* scratch bytes: x_t and h as int16 pairs (2 words per group of 4 values), the 4 gates' values (each
 * padded to a multiple of 4 rows) */
static inline int32_t tg_lstm_scratch_bytes(int32_t n_input, int32_t n_units)
{
    return 8 * ((n_input + 3) / 4) + 8 * ((n_units + 3) / 4) + 32 * ((n_units + 3) / 4);
}

/* The same for n int16 values */
static inline void tg_lstm_pairs_s16(const int16_t *src, int32_t n, uint32_t *dst)
{
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const uint32_t w01 = tg_read_u32(src + k), w23 = tg_read_u32(src + k + 2);
        *dst++ = (w01 & 0xFFFFu) | (w23 << 16);
        *dst++ = (w01 >> 16) | (w23 & 0xFFFF0000u);
    }
    for (; k < n; k += 4) {
        int32_t v[4];
        for (int32_t j = 0; j < 4; ++j) {
            v[j] = k + j < n ? (int32_t)src[k + j] : 0;
        }
        *dst++ = ((uint32_t)v[0] & 0xFFFFu) | ((uint32_t)v[2] << 16);
        *dst++ = ((uint32_t)v[1] & 0xFFFFu) | ((uint32_t)v[3] << 16);
    }
}

/* One of TFLM's int32 MultiplyByQuantizedMultiplier (mult, shift), prepared once per call: a right shift
 * takes the one-multiply form of tg_requantize_rs with its rounding constant precomputed. */
typedef struct {
    int32_t mult;
    int32_t shift;
    int64_t round;   /* shift < 0: 2^30 + 2^(30 - shift) */
    int32_t post;    /* shift < 0: -shift - 1 */
    int32_t reduced; /* the int64 form (tg_requant_s16.h, shift <= 14): mult rounded to Q0.15 ... */
    int32_t total;   /* ... and its right shift 15 - shift, */
    int64_t round64; /* rounding 2^(total - 1) */
    int32_t left;    /* 32 - total (total < 32) */
} tg_lstm_rq_t;

static inline tg_lstm_rq_t tg_lstm_rq_make(int32_t mult, int32_t shift)
{
    tg_lstm_rq_t r = {mult, shift, 0, 0, 0, 0, 0, 0};
    if (shift < 0) {
        r.round = ((int64_t)1 << 30) + ((int64_t)1 << (30 - shift));
        r.post = -shift - 1;
    }
    if (shift <= 14) {
        r.reduced = mult < 0x7FFF0000 ? (int32_t)((mult + (1 << 15)) >> 16) : 0x7FFF;
        r.total = 15 - shift;
        r.round64 = (int64_t)1 << (r.total - 1);
        r.left = 32 - r.total;
    }
    return r;
}

/* tg_requantize64(x, mult, shift) from the prepared record (the same arithmetic, constants hoisted) */
static inline int32_t tg_lstm_rq64(int64_t x, const tg_lstm_rq_t *r)
{
    /* the low word of the shifted sum, from its two words (1 <= total; the 64-bit shift by a variable
     * amount costs twice as much) */
    const uint64_t v = (uint64_t)(x * r->reduced + r->round64);
    const uint32_t lo = (uint32_t)v, hi = (uint32_t)(v >> 32);
    return (int32_t)(r->total < 32 ? (lo >> r->total) | (hi << r->left) : (uint32_t)((int32_t)hi >> (r->total - 32)));
}

/* r's right-shift form (r->shift < 0) */
static inline int32_t tg_lstm_rq_rs(int32_t x, const tg_lstm_rq_t *r)
{
    return tg_rq_rs_form(x, r->mult, r->round, r->post);
}

/* r's left-shift form (r->shift >= 0): tg_rq_prep.h's one SMLAL, no saturation test (mult < 2^31) */
static inline int32_t tg_lstm_rq_ls(int32_t x, const tg_lstm_rq_t *r)
{
    return tg_rq_ls_form(x, r->mult, r->shift);
}

static inline int32_t tg_lstm_rq(int32_t x, const tg_lstm_rq_t *r)
{
    return r->shift >= 0 ? tg_lstm_rq_ls(x, r) : tg_lstm_rq_rs(x, r);
}


#define TG_LSTM_SAT(x, bits) TG_RQ_SAT(x, bits)

/* The activations read tg_lstm.h's signed table: mid = table + 256, mid[j] = A[j] | (A[j + 1] - A[j]) << 16
 * for j in [-256, 256), A[j] = T[j] (TFLM's 256-entry sigmoid table T) for j >= 0 and 2^16 - T[-j] below
 * (A[-256] = 1). TFLM interpolates T at |v| and mirrors negative inputs; the mirrored values lie on the
 * same straight segments, so one interpolation at v (knots at multiples of 2^frac_bits) with the rounding
 * of the sign's branch (one less below zero: 2^(bits - 1) - 1) gives the same integers, without a test. */

/* TFLM's int16 LOGISTIC on one value v already rescaled to units of 1/(3 * 4096) (Q0.15 out), |v| <=
 * 3 * 2^15 (a gate's 3 * pre: TFLM's saturation at |v| >= 255 * 2^9 cannot happen) */
static inline int16_t tg_lstm_sigmoid(int32_t v, const int32_t *mid)
{
    const uint32_t w = (uint32_t)mid[v >> 9];
    const int32_t val = (int32_t)((w & 0xFFFFu) << 9) + ((int32_t)w >> 16) * (v & 511);
    return (int16_t)((val + 512 - (int32_t)((uint32_t)v >> 31)) >> 10);
}

/* TFLM's int16 TANH on one value v already rescaled to units of 1/(3 * 4096) (Q0.15 out), any v: v is
 * saturated to 17 bits first (TFLM's table saturates from |v| >= 255 * 2^8; so do the table's ends) */
static inline int16_t tg_lstm_tanh(int32_t v, const int32_t *mid)
{
    v = TG_LSTM_SAT(v, 17);
    const uint32_t w = (uint32_t)mid[v >> 8];
    const int32_t val = (int32_t)((w & 0xFFFFu) << 8) + ((int32_t)w >> 16) * (v & 255);
    return (int16_t)((val - (1 << 23) + 128 - (int32_t)((uint32_t)v >> 31)) >> 8);
}

/* The requantizations of one call: per gate the input-side and recurrent-side ones, then f * c, i * g, o * tanh(c) */
typedef struct {
    tg_lstm_rq_t gate[4][2];
    tg_lstm_rq_t fc, ig, ho;
    int32_t h_zp, clip, tanh_mult, tanh_shift;
    int32_t update_rs; /* f * c, i * g and o * tanh(c) all requantize with a right shift */
} tg_lstm_params_t;

static inline void tg_lstm_params(const int32_t *q, tg_lstm_params_t *p)
{
    for (int32_t g = 0; g < 4; ++g) {
        p->gate[g][0] = tg_lstm_rq_make(q[4 * g], q[4 * g + 1]);
        p->gate[g][1] = tg_lstm_rq_make(q[4 * g + 2], q[4 * g + 3]);
    }
    p->fc = tg_lstm_rq_make(q[TG_LSTM_Q_FC], q[TG_LSTM_Q_FC + 1]);
    p->ig = tg_lstm_rq_make(q[TG_LSTM_Q_IC], q[TG_LSTM_Q_IC + 1]);
    p->ho = tg_lstm_rq_make(q[TG_LSTM_Q_HO], q[TG_LSTM_Q_HO + 1]);
    p->h_zp = q[TG_LSTM_Q_HZP];
    p->clip = q[TG_LSTM_Q_CLIP];
    p->update_rs = q[TG_LSTM_Q_FC + 1] < 0 && q[TG_LSTM_Q_IC + 1] < 0 && q[TG_LSTM_Q_HO + 1] < 0;
    p->tanh_mult = q[TG_LSTM_Q_CELL_TANH];
    p->tanh_shift = q[TG_LSTM_Q_CELL_TANH + 1];
}

/* The cell and hidden update of one unit from its gates (i, f, g, o); writes c and returns h before its
 * clamp to h's type (q[23], q[24]: the type's whole range, so the caller saturates with SSAT). rs: the
 * three requantizations are right shifts (the one-multiply form without the test). */
TG_ALWAYS_INLINE int32_t tg_lstm_update(int16_t *c, int32_t i, int32_t f, int32_t g, int32_t o,
    const tg_lstm_params_t *p, const int32_t *table, int32_t rs)
{
    const int32_t fc_acc = rs ? tg_lstm_rq_rs(f * (int32_t)*c, &p->fc) : tg_lstm_rq(f * (int32_t)*c, &p->fc);
    const int32_t ig_acc = rs ? tg_lstm_rq_rs(i * g, &p->ig) : tg_lstm_rq(i * g, &p->ig);
    const int32_t fc = TG_LSTM_SAT(fc_acc, 16);
    const int32_t ig = TG_LSTM_SAT(ig_acc, 16);
    int32_t cell = TG_LSTM_SAT(fc + ig, 16);
    if (p->clip >= 0) {
        cell = tg_clamp(cell, -p->clip, p->clip);
    }
    *c = (int16_t)cell;
    const int32_t t = tg_lstm_tanh(tg_sigmoid_input((int16_t)cell, p->tanh_mult, p->tanh_shift), table);
    return (rs ? tg_lstm_rq_rs(t * o, &p->ho) : tg_lstm_rq(t * o, &p->ho)) + p->h_zp;
}

#endif /* TG_LSTM_CORE_H */
