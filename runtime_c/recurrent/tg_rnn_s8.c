/* tinygen runtime: int8 GRU / SimpleRNN step programs (tg_rnn_s8.h). */
#include "tg_rnn_s8.h"

#include <string.h>

#include "tg_add.h"
#include "tg_fully_connected_s8.h"
#include "tg_fully_connected_s8_fast.h"
#include "tg_math.h"
#include "tg_mul_s8.h"
#include "tg_quantize_s8.h"

#define TG_RNN_RECORD 16

int32_t tg_rnn_s8_get_buffer_size(int32_t slots, int32_t units)
{
    return (slots + 1) * units;
}

static int8_t *tg_rnn_buffer(int32_t id, int8_t *h, int8_t *scratch, int32_t units)
{
    return id == 1 ? h : scratch + (id - 2) * units;
}

static void tg_rnn_run(const int32_t *r, const int32_t *words, const int8_t *bytes, const int8_t *x,
    int8_t *h, int8_t *scratch, int32_t units)
{
    const int32_t *p = r + 4;
    int8_t *out = tg_rnn_buffer(r[1], h, scratch, units);
    const int8_t *a = r[2] == 0 ? x : tg_rnn_buffer(r[2], h, scratch, units);
    const int8_t *b = tg_rnn_buffer(r[3] < 1 ? 1 : r[3], h, scratch, units);
    switch (r[0]) {
    case 1:
        (void)tg_fully_connected_s8(NULL, p[2], p[3], p[4], p[5], p[6], words + p[8], words + p[9], p[7], 1, p[0],
            a, p[1], bytes + p[11], p[10] < 0 ? NULL : words + p[10], out);
        break;
    case 2:
        (void)tg_fully_connected_s8_fast(p[2], p[3], p[4], 1, p[0], a, p[1], words + p[5], p[6], words + p[7],
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

int tg_rnn_s8(int32_t steps, int32_t features, int32_t units, int32_t n_records, int32_t slots,
    const int32_t *program, const int32_t *words, const int8_t *bytes, int32_t backwards, int32_t out_mode,
    int32_t h_zp, int32_t y_copy, int32_t y_mult, int32_t y_shift, int32_t y_zp, const int8_t *input,
    int8_t *state, int8_t *scratch, int8_t *output)
{
    int8_t *h = scratch + slots * units;
    int32_t k, i;
    if (state != NULL) {
        memcpy(h, state, (size_t)units);
    } else {
        memset(h, h_zp, (size_t)units);
    }
    for (k = 0; k < steps; ++k) {
        const int32_t t = backwards ? steps - 1 - k : k;
        const int8_t *x = input + t * features;
        for (i = 0; i < n_records; ++i) {
            tg_rnn_run(program + i * TG_RNN_RECORD, words, bytes, x, h, scratch, units);
        }
        if (out_mode != 0) {
            tg_rnn_emit(h, units, h_zp, y_copy, y_mult, y_shift, y_zp, output + (out_mode == 2 ? t : k) * units);
        }
    }
    if (out_mode == 0) {
        tg_rnn_emit(h, units, h_zp, y_copy, y_mult, y_shift, y_zp, output);
    }
    if (state != NULL) {
        memcpy(state, h, (size_t)units);
    }
    return TG_OK;
}
