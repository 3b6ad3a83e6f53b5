/* tinygen runtime: int8 GRU / SimpleRNN step programs (tg_rnn_s8.h). */
#include "tg_rnn_s8.h"

#include "tg_add.h"
#include "tg_add_s8_fast.h"
#include "tg_fully_connected_s8.h"
#include "tg_fully_connected_s8_fast.h"
#include "tg_math.h"
#include "tg_mul_s8.h"
#include "tg_quantize_s8.h"

typedef struct {
    const int32_t *words;
    const int8_t *bytes;
} tg_rnn_consts;

#define TG_RNN_T int8_t
#define TG_RNN_FILL(h, zp, n) memset((h), (zp), (size_t)(n))
#define TG_RNN_REQUANTIZE tg_requantize_s8_s8
#define TG_RNN_ADD tg_add_s8
#define TG_RNN_SUB tg_sub_s8
#define TG_RNN_MUL tg_mul_s8
#define TG_RNN_MUL_ARGS p[0], p[1], p[2], p[3], p[4], p[5], p[6]
#include "tg_rnn_body.inc"

int32_t tg_rnn_s8_get_buffer_size(int32_t slots, int32_t seq_slots, int32_t steps, int32_t units)
{
    return (slots + 1 + seq_slots * steps) * units;
}

TG_ALWAYS_INLINE void tg_rnn_step(int32_t opcode, const int32_t *p, int32_t batches, int32_t units, const tg_rnn_consts *c,
    const int8_t *a, const int8_t *b, int8_t *out)
{
    const int32_t *words = c->words;
    const int8_t *bytes = c->bytes;
    switch (opcode) {
    case 1:
        (void)tg_fully_connected_s8(NULL, p[2], p[3], p[4], p[5], p[6], words + p[8], words + p[9], p[7], batches,
            p[0], a, p[1], bytes + p[11], p[10] < 0 ? NULL : words + p[10], out);
        break;
    case 2:
        (void)tg_fully_connected_s8_fast(p[2], p[3], p[4], batches, p[0], a, p[1], words + p[5], p[6], words + p[7],
            p[8], out);
        break;
    case 7:
        (void)tg_add_s8_fast(words + p[0], words + p[1], words + p[2], p[3], p[4], units, a, b, out);
        break;
    default:
        (void)tg_lut_s8(units, bytes + p[0], a, out);
        break;
    }
}

int tg_rnn_s8(int32_t steps, int32_t features, int32_t units, int32_t n_pre, int32_t n_loop, int32_t slots,
    int32_t seq_slots, const int32_t *program, const int32_t *words, const int8_t *bytes, int32_t backwards,
    int32_t out_mode, int32_t h_zp, int32_t y_copy, int32_t y_mult, int32_t y_shift, int32_t y_zp,
    const int8_t *input, int8_t *state, int8_t *scratch, int8_t *output)
{
    tg_rnn_consts c;
    c.words = words;
    c.bytes = bytes;
    (void)seq_slots;
    return tg_rnn_drive(steps, features, units, n_pre, n_loop, slots, program, &c, backwards, out_mode, h_zp,
        y_copy, y_mult, y_shift, y_zp, input, state, scratch, output);
}
