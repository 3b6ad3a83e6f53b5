/* tinygen runtime: SVDF, int16 memory; contract in tg_svdf.h, body in tg_svdf_body.inc. */
#include "tg_svdf.h"

#define TG_FN tg_svdf_s8_s16
#define TG_T int16_t
#define TG_T_BITS 16
#define TG_TIME_ROW tg_svdf_time_row_s16
#include "tg_svdf_body.inc"
