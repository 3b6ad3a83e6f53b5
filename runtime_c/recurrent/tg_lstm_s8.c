/* tinygen runtime: int8 LSTM with an int16 cell state; contract in tg_lstm.h. */
#include "tg_lstm.h"

#include "tg_lstm_core.h"

#define TG_LSTM_FN tg_lstm_s8
#define TG_LSTM_T int8_t
#define TG_LSTM_WIDE 0
#define TG_LSTM_PAIRS_FN tg_lstm_pairs_s8
#define TG_LSTM_SAT_T tg_lstm_sat8
#include "tg_lstm_body.inc"

int32_t tg_lstm_s8_get_buffer_size(int32_t n_input, int32_t n_units)
{
    return tg_lstm_scratch_bytes(n_input, n_units);
}
