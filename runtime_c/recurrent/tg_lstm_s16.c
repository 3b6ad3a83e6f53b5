/* tinygen runtime: 16x8 LSTM (int16 activations and cell state, int8 weights, int64 biases); contract in
 * tg_lstm.h. */
#include "tg_lstm.h"

#include "tg_lstm_core.h"

#define TG_LSTM_FN tg_lstm_s16
#define TG_LSTM_T int16_t
#define TG_LSTM_WIDE 1
#define TG_LSTM_PAIRS_FN tg_lstm_pairs_s16
#define TG_LSTM_SAT_T tg_lstm_sat16
#include "tg_lstm_body.inc"

int32_t tg_lstm_s16_get_buffer_size(int32_t n_input, int32_t n_units)
{
    return tg_lstm_scratch_bytes(n_input, n_units);
}
