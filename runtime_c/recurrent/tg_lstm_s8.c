/* tinygen runtime: int8 LSTM with an int16 cell state; contract in tg_lstm.h, body in tg_lstm_body.inc. */
#define TG_LSTM_FN tg_lstm_s8
#define TG_LSTM_WIDE 0
#include "tg_lstm_body.inc"
