/* tinygen runtime: UNIDIRECTIONAL_SEQUENCE_LSTM, TFLM's integer arithmetic (bit-exact), int8 activations
 * with an int16 cell state (tg_lstm_s8) and 16x8 (tg_lstm_s16: int16 activations, int64 biases).
 *
 * For every batch row b and time step t (x_t at input + ((t * batches + b) if time_major else
 * (b * steps + t)) * n_input, h and c the row's n_units values of h_state / c_state):
 *   for the 4 * n_units gate rows (gate g = input, forget, cell, output; n_units rows each):
 *     pre = sat16(sat16(rq(bias_x + W_x x_t, q[4g], q[4g+1])) + sat16(rq(bias_h + W_h h, q[4g+2], q[4g+3])))
 *     gate = sigmoid(pre), tanh(pre) for the cell gate (int16 in Q3.12 -> Q0.15, sigmoid table)
 *   c = sat16(sat16(rq(f * c, Q_FC)) + sat16(rq(i * g, Q_IC))), clipped to +-q[25] when q[25] >= 0
 *   h = clamp(rq(tanh(c) * o, Q_HO) + q[22], q[23], q[24]) (the limits of h's type); the output row of
 *   (b, t) is h.
 * rq is TFLM's MultiplyByQuantizedMultiplier: int32 in tg_lstm_s8, int64 in tg_lstm_s16. The weights W
 * are stored minus their zero point, and the input offsets are folded into the biases offline (bias_x =
 * bias - x_zp * row sums of W_x, bias_h = -h_zp * row sums of W_h; int32 in tg_lstm_s8, int64 in
 * tg_lstm_s16). h_state and c_state are read and overwritten in place: they carry the state to the next
 * invoke.
 *
 * Weights (tinygen/lower/recurrent.py): the rows of the 4 gates stacked (input, forget, cell, output),
 * each gate padded with zero rows to a multiple of 4 (as its bias), each row padded with zeros to a
 * multiple of 4 values, in blocks of 4 rows: per block,
 * per group of 4 values k..k+3, per row, two int32 words of int16 lanes (w[k] | w[k+2] << 16) and
 * (w[k+1] | w[k+3] << 16), w = weight - zero point in [-255, 255] (tg_gemm_s8_fast.h's pre-extended
 * layout: every weight is read steps times per invoke, so it is widened once offline; twice the flash
 * of int8).
 * q: 32 int32 (tinygen/lower/recurrent.py Q_*): per gate (input-side mult, shift, recurrent mult,
 * shift); then (mult, shift) of f * c, i * g and tanh(c) * o; h's zero point, min, max; the cell clip
 * (-1: none); (input_mult, input_shift) of tanh(c), of the gate sigmoid and of the cell gate's tanh
 * (both (3, 0): TFLM's power-of-two case at the gates' 2^-12 input scale, applied as 3 * pre).
 * table: 512 int32 words, TFLM's int16 sigmoid table mirrored into a signed interpolation table
 * (tinygen/lower/recurrent.py signed_table; read by tg_lstm_core.h's sigmoid and tanh).
 * Scratch: tg_lstm_get_buffer_size(n_input, n_units) bytes, 4-byte aligned (x_t and h as int16 pairs,
 * the gate values). Returns TG_OK.
 */
#ifndef TG_LSTM_H
#define TG_LSTM_H

#include "tg_common.h"

int tg_lstm_s8(int8_t *scratch, int32_t batches, int32_t steps, int32_t time_major, int32_t n_input,
    int32_t n_units, const int32_t *q, const int32_t *table, const int32_t *w_x, const int32_t *w_h,
    const int32_t *bias_x, const int32_t *bias_h, const int8_t *input, int8_t *h_state, int16_t *c_state,
    int8_t *output);

int tg_lstm_s16(int8_t *scratch, int32_t batches, int32_t steps, int32_t time_major, int32_t n_input,
    int32_t n_units, const int32_t *q, const int32_t *table, const int32_t *w_x, const int32_t *w_h,
    const int64_t *bias_x, const int64_t *bias_h, const int16_t *input, int16_t *h_state, int16_t *c_state,
    int16_t *output);

int32_t tg_lstm_s8_get_buffer_size(int32_t n_input, int32_t n_units);

int32_t tg_lstm_s16_get_buffer_size(int32_t n_input, int32_t n_units);

#endif /* TG_LSTM_H */
