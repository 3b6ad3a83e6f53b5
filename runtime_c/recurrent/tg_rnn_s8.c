/* tinygen runtime: int8 GRU / SimpleRNN step programs (tg_rnn_s8.h). */
#include "tg_rnn_s8.h"

#include <string.h>

#include "tg_add.h"
#include "tg_add_s8_fast.h"
#include "tg_fully_connected_s8.h"
#include "tg_fully_connected_s8_fast.h"
#include "tg_math.h"
#include "tg_mul_s8.h"
#include "tg_quantize_s8.h"

#define TG_RNN_RECORD 16
#define TG_RNN_SEQ 1000

int32_t tg_rnn_s8_get_buffer_size(int32_t slots, int32_t seq_slots, int32_t steps, int32_t units)
{
    return (slots + 1 + seq_slots * steps) * units;
}

/* Where the program's buffers are during one step (t: the input row; the input itself is buffer 0). */
typedef struct {
    const int8_t *x;
    int8_t *h;
    int8_t *slots;
    int8_t *seq;
    int32_t row;
    int32_t rows;
    int32_t units;
} tg_rnn_place;

static int8_t *tg_rnn_buffer(const tg_rnn_place *at, int32_t id)
{
    if (id >= TG_RNN_SEQ) {
        return at->seq + ((id - TG_RNN_SEQ) * at->rows + at->row) * at->units;
    }
    return id == 1 ? at->h : at->slots + (id - 2) * at->units;
}

static void tg_rnn_run(const int32_t *r, const int32_t *words, const int8_t *bytes, const tg_rnn_place *at)
{
    const int32_t *p = r + 4;
    const int32_t units = at->units;
    int8_t *out = tg_rnn_buffer(at, r[1]);
    const int8_t *a = r[2] == 0 ? at->x : tg_rnn_buffer(at, r[2]);
    const int8_t *b = tg_rnn_buffer(at, r[3] < 1 ? 1 : r[3]);
    switch (r[0]) {
    case 1:
        (void)tg_fully_connected_s8(NULL, p[2], p[3], p[4], p[5], p[6], words + p[8], words + p[9], p[7], r[3],
            p[0], a, p[1], bytes + p[11], p[10] < 0 ? NULL : words + p[10], out);
        break;
    case 2:
        (void)tg_fully_connected_s8_fast(p[2], p[3], p[4], r[3], p[0], a, p[1], words + p[5], p[6], words + p[7],
            p[8], out);
        break;
    case 3:
        (void)tg_add_s8(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], 1, 1, 1, units,
            0, 0, 0, 1, a, 0, 0, 0, 1, b, out);
        break;
    case 4:
        (void)tg_sub_s8(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], 1, 1, 1, units,
            0, 0, 0, 1, a, 0, 0, 0, 1, b, out);
        break;
    case 5:
        (void)tg_mul_s8(p[0], p[1], p[2], p[3], p[4], p[5], p[6], 1, 1, 1, units, 0, 0, 0, 1, a, 0, 0, 0, 1, b, out);
        break;
    case 7:
        (void)tg_add_s8_fast(words + p[0], words + p[1], words + p[2], p[3], p[4], units, a, b, out);
        break;
    default:
        (void)tg_lut_s8(units, bytes + p[0], a, out);
        break;
    }
}

static void tg_rnn_emit(const int8_t *h, int32_t units, int32_t h_zp, int32_t y_copy, int32_t y_mult,
    int32_t y_shift, int32_t y_zp, int8_t *out)
{
    if (y_copy) {
        memcpy(out, h, (size_t)units);
    } else {
        (void)tg_requantize_s8_s8(h_zp, y_mult, y_shift, y_zp, units, h, out);
    }
}

int tg_rnn_s8(int32_t steps, int32_t features, int32_t units, int32_t n_pre, int32_t n_loop, int32_t slots,
    int32_t seq_slots, const int32_t *program, const int32_t *words, const int8_t *bytes, int32_t backwards,
    int32_t out_mode, int32_t h_zp, int32_t y_copy, int32_t y_mult, int32_t y_shift, int32_t y_zp,
    const int8_t *input, int8_t *state, int8_t *scratch, int8_t *output)
{
    tg_rnn_place at;
    int32_t k, i;
    at.x = input;
    at.slots = scratch;
    at.h = scratch + slots * units;
    at.seq = at.h + units;
    at.row = 0;
    at.rows = steps;
    at.units = units;
    (void)seq_slots;
    for (i = 0; i < n_pre; ++i) {
        tg_rnn_run(program + i * TG_RNN_RECORD, words, bytes, &at);
    }
    if (state != NULL) {
        memcpy(at.h, state, (size_t)units);
    } else {
        memset(at.h, h_zp, (size_t)units);
    }
    for (k = 0; k < steps; ++k) {
        at.row = backwards ? steps - 1 - k : k;
        at.x = input + at.row * features;
        for (i = n_pre; i < n_pre + n_loop; ++i) {
            tg_rnn_run(program + i * TG_RNN_RECORD, words, bytes, &at);
        }
        if (out_mode != 0) {
            tg_rnn_emit(at.h, units, h_zp, y_copy, y_mult, y_shift, y_zp,
                output + (out_mode == 2 ? at.row : k) * units);
        }
    }
    if (out_mode == 0) {
        tg_rnn_emit(at.h, units, h_zp, y_copy, y_mult, y_shift, y_zp, output);
    }
    if (state != NULL) {
        memcpy(state, at.h, (size_t)units);
    }
    return TG_OK;
}
