/* tinygen runtime: 16x8 LSTM (int16 activations and cell state, int8 weights, int64 biases); contract in
 * tg_lstm.h, body in tg_lstm_body.inc. */
#define TG_LSTM_FN tg_lstm_s16
#define TG_LSTM_WIDE 1
#include "tg_lstm_body.inc"
