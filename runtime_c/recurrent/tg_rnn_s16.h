/* tinygen runtime: 16x8 recurrent cells (GRU, SimpleRNN; int16 values, int8 weights, int64 biases),
 * batch 1, the time loop in C: tg_rnn_s8.h's step program over tinygen's int16 kernels.
 *
 * Records of 16 int32 words: opcode, destination, source a, source b (FC: batches), the op's scalars:
 *   1 FC       (tg_fully_connected_s16, per gate) accum_depth, out_depth, filter_offset, act_min, act_max,
 *              per_channel, mult, shift [words], bias (-1: none) [longs], filter [bytes]
 *   3 ADD, 4 SUB (tg_add_s16 / tg_sub_s16 over units values) in1_offset ... act_max (12 scalars, in order)
 *   5 MUL      (tg_mul_s16 over units values) out_mult, out_shift, act_min, act_max
 *   6 LOGISTIC, 8 TANH (tg_logistic_s16 / tg_tanh_s16 over units values) input_mult, input_shift, table [halves]
 * [words] / [longs] / [bytes] / [halves] are element offsets into those arrays. Buffers, steps, state and
 * outputs as tg_rnn_s8.h (values int16; the written output is h as is, or tg_requantize_s16_s16 of it).
 * Scratch: tg_rnn_s16_get_buffer_size(slots, seq_slots, steps, units) bytes, 2-byte aligned. Returns TG_OK.
 */
#ifndef TG_RNN_S16_H
#define TG_RNN_S16_H

#include "tg_common.h"

int32_t tg_rnn_s16_get_buffer_size(int32_t slots, int32_t seq_slots, int32_t steps, int32_t units);

int tg_rnn_s16(int32_t steps, int32_t features, int32_t units, int32_t n_pre, int32_t n_loop, int32_t slots,
    int32_t seq_slots, const int32_t *program, const int32_t *words, const int64_t *longs, const int8_t *bytes,
    const uint16_t *halves, int32_t backwards, int32_t out_mode, int32_t h_zp, int32_t y_copy, int32_t y_mult,
    int32_t y_shift, int32_t y_zp, const int16_t *input, int16_t *state, int8_t *scratch, int16_t *output);

#endif /* TG_RNN_S16_H */
