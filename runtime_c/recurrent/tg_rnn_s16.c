/* tinygen runtime: 16x8 GRU / SimpleRNN step programs (tg_rnn_s16.h). */
#include "tg_rnn_s16.h"

#include "tg_add.h"
#include "tg_fully_connected_s16.h"
#include "tg_mul_s16.h"
#include "tg_quantize_s16.h"
#include "tg_sigmoid_s16.h"

typedef struct {
    const int32_t *words;
    const int64_t *longs;
    const int8_t *bytes;
    const uint16_t *halves;
} tg_rnn_consts;

#define TG_RNN_T int16_t
#define TG_RNN_FILL(h, zp, n)             \
    do {                                  \
        int32_t j_;                       \
        for (j_ = 0; j_ < (n); ++j_) {    \
            (h)[j_] = (int16_t)(zp);      \
        }                                 \
    } while (0)
#define TG_RNN_REQUANTIZE tg_requantize_s16_s16
#define TG_RNN_ADD tg_add_s16
#define TG_RNN_SUB tg_sub_s16
#define TG_RNN_MUL tg_mul_s16
#define TG_RNN_MUL_ARGS p[0], p[1], p[2], p[3]
#include "tg_rnn_body.inc"

int32_t tg_rnn_s16_get_buffer_size(int32_t slots, int32_t seq_slots, int32_t steps, int32_t units)
{
    return (slots + 1 + seq_slots * steps) * units * (int32_t)sizeof(int16_t);
}

TG_ALWAYS_INLINE void tg_rnn_step(int32_t opcode, const int32_t *p, int32_t batches, int32_t units, const tg_rnn_consts *c,
    const int16_t *a, const int16_t *b, int16_t *out)
{
    (void)b;
    switch (opcode) {
    case 1:
        (void)tg_fully_connected_s16(p[2], p[3], p[4], c->words + p[6], c->words + p[7], p[5], batches, p[0], a, p[1],
            c->bytes + p[9], p[8] < 0 ? NULL : c->longs + p[8], out);
        break;
    case 6:
        (void)tg_logistic_s16(p[0], p[1], c->halves + p[2], units, a, out);
        break;
    default:
        (void)tg_tanh_s16(p[0], p[1], c->halves + p[2], units, a, out);
        break;
    }
}

int tg_rnn_s16(int32_t steps, int32_t features, int32_t units, int32_t n_pre, int32_t n_loop, int32_t slots,
    int32_t seq_slots, const int32_t *program, const int32_t *words, const int64_t *longs, const int8_t *bytes,
    const uint16_t *halves, int32_t backwards, int32_t out_mode, int32_t h_zp, int32_t y_copy, int32_t y_mult,
    int32_t y_shift, int32_t y_zp, const int16_t *input, int16_t *state, int8_t *scratch, int16_t *output)
{
    tg_rnn_consts c;
    c.words = words;
    c.longs = longs;
    c.bytes = bytes;
    c.halves = halves;
    (void)seq_slots;
    return tg_rnn_drive(steps, features, units, n_pre, n_loop, slots, program, &c, backwards, out_mode, h_zp,
        y_copy, y_mult, y_shift, y_zp, input, state, scratch, output);
}
