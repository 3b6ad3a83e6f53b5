/* tinygen runtime: int8 recurrent cells (GRU, SimpleRNN), batch 1, the time loop in C.
 *
 * One time step is a program of single int8 ops, each the call tinygen makes for that op alone, so the
 * cell equals the same ops run one after another (TFLite's unrolled form, checked with TFLM). The
 * program is n_pre + n_loop records of 16 int32 words: opcode, destination, source a, source b (FC:
 * batches), then the op's scalars:
 *   1 FC       (tg_fully_connected_s8, per gate) accum_depth, out_depth, input_offset, filter_offset,
 *              output_offset, act_min, act_max, per_channel, mult, shift, bias (-1: none) [words], filter [bytes]
 *   2 FC fast  (tg_fully_connected_s8_fast) accum_depth, out_depth, output_offset, act_min, act_max,
 *              filter [words], wide, quant [words], rq_words
 *   3 ADD, 4 SUB (tg_add_s8 / tg_sub_s8 over units values) in1_offset ... act_max (12 scalars, in order)
 *   5 MUL      (tg_mul_s8 over units values) in1_offset ... act_max (7 scalars, in order)
 *   6 LUT      (tg_lut_s8 over units values) table [bytes]
 *   7 ADD/SUB fast (tg_add_s8_fast over units values) table1, table2, out_rq [words], act_min, act_max
 * [words] / [bytes] are element offsets into `words` / `bytes`. Buffers: 0 the input (the whole
 * sequence in the first n_pre records, which run once: the FCs of the input over every step; the row of
 * the step otherwise), 1 the hidden state h, 2 + k slot k of the scratch (units values), 1000 + j the
 * j-th of seq_slots sequences [steps, units] the first records fill (row t in the step loop).
 *
 * Steps: for k = 0 .. steps - 1 the row read is t = backwards ? steps - 1 - k : k, and the n_loop
 * records run. h starts at `state` (stateful: the persistent variable, written back at the end) or at
 * h_zp (state NULL). Output: out_mode 0 writes the last h ([units]); 1 writes h after step k into row k,
 * 2 into row t ([steps, units]). Written values are h as is (y_copy) or
 * clamp(MBQM(h - h_zp, y_mult, y_shift) + y_zp) (tg_requantize_s8_s8).
 * Scratch: tg_rnn_s8_get_buffer_size(slots, seq_slots, steps, units) bytes. Returns TG_OK.
 */
#ifndef TG_RNN_S8_H
#define TG_RNN_S8_H

#include "tg_common.h"

int32_t tg_rnn_s8_get_buffer_size(int32_t slots, int32_t seq_slots, int32_t steps, int32_t units);

int tg_rnn_s8(int32_t steps, int32_t features, int32_t units, int32_t n_pre, int32_t n_loop, int32_t slots,
    int32_t seq_slots,
    const int32_t *program, const int32_t *words, const int8_t *bytes, int32_t backwards, int32_t out_mode,
    int32_t h_zp, int32_t y_copy, int32_t y_mult, int32_t y_shift, int32_t y_zp, const int8_t *input,
    int8_t *state, int8_t *scratch, int8_t *output);

#endif /* TG_RNN_S8_H */
