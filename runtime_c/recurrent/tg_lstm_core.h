/* tinygen runtime: the pieces tg_lstm_s8 and tg_lstm_s16 share (contract in tg_lstm.h). Internal. */
#ifndef TG_LSTM_CORE_H
#define TG_LSTM_CORE_H

#include "tg_dsp.h"
#include "tg_sigmoid_s16.h"

#define TG_LSTM_Q_FC 16
#define TG_LSTM_Q_IC 18
#define TG_LSTM_Q_HO 20
#define TG_LSTM_Q_HZP 22
#define TG_LSTM_Q_CLIP 25
#define TG_LSTM_Q_CELL_TANH 26
#define TG_LSTM_Q_SIGMOID 28
#define TG_LSTM_Q_GATE_TANH 30

/* scratch bytes: x_t and h as int16 pairs (2 words per group of 4 values), 4 * n_units gate values */
static inline int32_t tg_lstm_scratch_bytes(int32_t n_input, int32_t n_units)
{
    return 8 * ((n_input + 3) / 4) + 8 * ((n_units + 3) / 4) + 8 * n_units;
}

/* n values (int8 or int16 widened by the caller's macro) -> per group of 4: (v0 | v2 << 16), (v1 | v3 << 16),
 * zero padded: the operand order of SMLAD against SXTB16 of a raw weight word and its ROR 8. */
#define TG_LSTM_PAIRS(src, n, dst)                                                               \
    do {                                                                                         \
        for (int32_t k_ = 0; k_ < (((n) + 3) / 4) * 4; k_ += 4) {                              \
            int32_t v_[4];                                                                       \
            for (int32_t j_ = 0; j_ < 4; ++j_) {                                                 \
                v_[j_] = k_ + j_ < (n) ? (int32_t)(src)[k_ + j_] : 0;                            \
            }                                                                                    \
            (dst)[k_ / 2] = ((uint32_t)v_[0] & 0xFFFFu) | ((uint32_t)v_[2] << 16);               \
            (dst)[k_ / 2 + 1] = ((uint32_t)v_[1] & 0xFFFFu) | ((uint32_t)v_[3] << 16);           \
        }                                                                                        \
    } while (0)

/* acc[r] += sum over `groups` groups of 4 values of row r's weights times v, for the 4 rows of one block
 * (w: 4 raw words per group); returns w past the block's groups. Each group adds at most 2^24 in
 * magnitude for 16-bit v, 2^16 for 8-bit v (the int32 sums wrap like SMLAD; the caller bounds them). */
TG_ALWAYS_INLINE const int32_t *tg_lstm_block(const uint32_t *v, const int32_t *w, int32_t groups, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int32_t k = 0; k < groups; ++k) {
        const uint32_t lo = v[0], hi = v[1];
        const uint32_t w0 = (uint32_t)w[0], w1 = (uint32_t)w[1], w2 = (uint32_t)w[2], w3 = (uint32_t)w[3];
        v += 2;
        w += 4;
        a0 = tg_smlad(tg_sxtb16(w0), lo, a0);
        a0 = tg_smlad(tg_sxtb16_r8(w0), hi, a0);
        a1 = tg_smlad(tg_sxtb16(w1), lo, a1);
        a1 = tg_smlad(tg_sxtb16_r8(w1), hi, a1);
        a2 = tg_smlad(tg_sxtb16(w2), lo, a2);
        a2 = tg_smlad(tg_sxtb16_r8(w2), hi, a2);
        a3 = tg_smlad(tg_sxtb16(w3), lo, a3);
        a3 = tg_smlad(tg_sxtb16_r8(w3), hi, a3);
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    return w;
}

static inline int32_t tg_lstm_sat16(int32_t x)
{
    return tg_clamp(x, -32768, 32767);
}

/* int16 Q3.12 -> Q0.15 sigmoid (is_tanh 0) or tanh (is_tanh 1), TFLM's int16 LOGISTIC / TANH on one value */
static inline int16_t tg_lstm_act(int16_t x, int32_t mult, int32_t shift, int32_t is_tanh, const uint16_t *table)
{
    const int32_t v = tg_sigmoid_input(x, mult, shift);
    const uint32_t mag = (uint32_t)(v < 0 ? -v : v);
    if (is_tanh) {
        const int32_t hit = tg_sigmoid_lookup(table, mag, 8);
        const int32_t acc = hit < 0 ? 0xFFFF << 8 : hit;
        return (int16_t)((v >= 0 ? acc - (1 << 23) + (1 << 7) : -acc + (1 << 23) + (1 << 7) - 1) >> 8);
    }
    const int32_t hit = tg_sigmoid_lookup(table, mag, 9);
    uint32_t acc = hit < 0 ? (uint32_t)0x7FFF << 10 : (uint32_t)hit;
    acc = v >= 0 ? acc + (1u << 9) : (1u << 25) - acc + (1u << 9) - 1u;
    return (int16_t)(acc >> 10);
}

/* The gate row's value from its two requantized halves: sat16 of their sum, then its activation */
static inline int16_t tg_lstm_gate(int32_t from_x, int32_t from_h, int32_t gate, const int32_t *q,
    const uint16_t *table)
{
    const int32_t pre = tg_lstm_sat16(tg_lstm_sat16(from_x) + tg_lstm_sat16(from_h));
    const int32_t at = gate == 2 ? TG_LSTM_Q_GATE_TANH : TG_LSTM_Q_SIGMOID;
    return tg_lstm_act((int16_t)pre, q[at], q[at + 1], gate == 2, table);
}

/* The cell and hidden update of one unit from its gates (i, f, g, o); writes c and returns h */
static inline int32_t tg_lstm_update(int16_t *c, int16_t i, int16_t f, int16_t g, int16_t o, const int32_t *q,
    const uint16_t *table)
{
    const int32_t fc = tg_lstm_sat16(tg_requantize((int32_t)f * (int32_t)*c, q[TG_LSTM_Q_FC], q[TG_LSTM_Q_FC + 1]));
    const int32_t ig = tg_lstm_sat16(tg_requantize((int32_t)i * (int32_t)g, q[TG_LSTM_Q_IC], q[TG_LSTM_Q_IC + 1]));
    int32_t cell = tg_lstm_sat16(fc + ig);
    const int32_t clip = q[TG_LSTM_Q_CLIP];
    if (clip > 0) {
        cell = tg_clamp(cell, -clip, clip);
    }
    *c = (int16_t)cell;
    const int16_t t = tg_lstm_act((int16_t)cell, q[TG_LSTM_Q_CELL_TANH], q[TG_LSTM_Q_CELL_TANH + 1], 1, table);
    const int32_t h = tg_requantize((int32_t)t * (int32_t)o, q[TG_LSTM_Q_HO], q[TG_LSTM_Q_HO + 1]) + q[TG_LSTM_Q_HZP];
    return tg_clamp(h, q[TG_LSTM_Q_HZP + 1], q[TG_LSTM_Q_HZP + 2]);
}

#endif /* TG_LSTM_CORE_H */
