/* tinygen runtime: 16x8 GRU / SimpleRNN step programs (tg_rnn_s16.h). */
#include "tg_rnn_s16.h"

#include <string.h>

#include "tg_add.h"
#include "tg_fully_connected_s16.h"
#include "tg_mul_s16.h"
#include "tg_quantize_s16.h"
#include "tg_sigmoid_s16.h"

#define TG_RNN_RECORD 16
#define TG_RNN_SEQ 1000

int32_t tg_rnn_s16_get_buffer_size(int32_t slots, int32_t seq_slots, int32_t steps, int32_t units)
{
    return (slots + 1 + seq_slots * steps) * units * (int32_t)sizeof(int16_t);
}

typedef struct {
    const int16_t *x;
    int16_t *h;
    int16_t *slots;
    int16_t *seq;
    int32_t row;
    int32_t rows;
    int32_t units;
} tg_rnn16_place;

typedef struct {
    const int32_t *words;
    const int64_t *longs;
    const int8_t *bytes;
    const uint16_t *halves;
} tg_rnn16_consts;

static int16_t *tg_rnn16_buffer(const tg_rnn16_place *at, int32_t id)
{
    if (id >= TG_RNN_SEQ) {
        return at->seq + ((id - TG_RNN_SEQ) * at->rows + at->row) * at->units;
    }
    return id == 1 ? at->h : at->slots + (id - 2) * at->units;
}

static void tg_rnn16_run(const int32_t *r, const tg_rnn16_consts *c, const tg_rnn16_place *at)
{
    const int32_t *p = r + 4;
    const int32_t units = at->units;
    int16_t *out = tg_rnn16_buffer(at, r[1]);
    const int16_t *a = r[2] == 0 ? at->x : tg_rnn16_buffer(at, r[2]);
    const int16_t *b = tg_rnn16_buffer(at, r[3] < 1 ? 1 : r[3]);
    switch (r[0]) {
    case 1:
        (void)tg_fully_connected_s16(p[2], p[3], p[4], c->words + p[6], c->words + p[7], p[5], r[3], p[0], a, p[1],
            c->bytes + p[9], p[8] < 0 ? NULL : c->longs + p[8], out);
        break;
    case 3:
        (void)tg_add_s16(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], 1, 1, 1, units,
            0, 0, 0, 1, a, 0, 0, 0, 1, b, out);
        break;
    case 4:
        (void)tg_sub_s16(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], 1, 1, 1, units,
            0, 0, 0, 1, a, 0, 0, 0, 1, b, out);
        break;
    case 5:
        (void)tg_mul_s16(p[0], p[1], p[2], p[3], 1, 1, 1, units, 0, 0, 0, 1, a, 0, 0, 0, 1, b, out);
        break;
    case 6:
        (void)tg_logistic_s16(p[0], p[1], c->halves + p[2], units, a, out);
        break;
    default:
        (void)tg_tanh_s16(p[0], p[1], c->halves + p[2], units, a, out);
        break;
    }
}

static void tg_rnn16_emit(const int16_t *h, int32_t units, int32_t h_zp, int32_t y_copy, int32_t y_mult,
    int32_t y_shift, int32_t y_zp, int16_t *out)
{
    if (y_copy) {
        memcpy(out, h, (size_t)units * sizeof(int16_t));
    } else {
        (void)tg_requantize_s16_s16(h_zp, y_mult, y_shift, y_zp, units, h, out);
    }
}

int tg_rnn_s16(int32_t steps, int32_t features, int32_t units, int32_t n_pre, int32_t n_loop, int32_t slots,
    int32_t seq_slots, const int32_t *program, const int32_t *words, const int64_t *longs, const int8_t *bytes,
    const uint16_t *halves, int32_t backwards, int32_t out_mode, int32_t h_zp, int32_t y_copy, int32_t y_mult,
    int32_t y_shift, int32_t y_zp, const int16_t *input, int16_t *state, int8_t *scratch, int16_t *output)
{
    tg_rnn16_place at;
    tg_rnn16_consts c;
    int32_t k, i;
    c.words = words;
    c.longs = longs;
    c.bytes = bytes;
    c.halves = halves;
    at.x = input;
    at.slots = (int16_t *)(void *)scratch; /* the arena places scratch 16-byte aligned */
    at.h = at.slots + slots * units;
    at.seq = at.h + units;
    at.row = 0;
    at.rows = steps;
    at.units = units;
    (void)seq_slots;
    for (i = 0; i < n_pre; ++i) {
        tg_rnn16_run(program + i * TG_RNN_RECORD, &c, &at);
    }
    if (state != NULL) {
        memcpy(at.h, state, (size_t)units * sizeof(int16_t));
    } else {
        for (i = 0; i < units; ++i) {
            at.h[i] = (int16_t)h_zp;
        }
    }
    for (k = 0; k < steps; ++k) {
        at.row = backwards ? steps - 1 - k : k;
        at.x = input + at.row * features;
        for (i = n_pre; i < n_pre + n_loop; ++i) {
            tg_rnn16_run(program + i * TG_RNN_RECORD, &c, &at);
        }
        if (out_mode != 0) {
            tg_rnn16_emit(at.h, units, h_zp, y_copy, y_mult, y_shift, y_zp,
                output + (out_mode == 2 ? at.row : k) * units);
        }
    }
    if (out_mode == 0) {
        tg_rnn16_emit(at.h, units, h_zp, y_copy, y_mult, y_shift, y_zp, output);
    }
    if (state != NULL) {
        memcpy(state, at.h, (size_t)units * sizeof(int16_t));
    }
    return TG_OK;
}
