/* tinygen runtime: SVDF, int8 memory; contract in tg_svdf.h, body in tg_svdf_body.inc. */
#include "tg_svdf.h"

#define TG_FN tg_svdf_s8
#define TG_T int8_t
#define TG_T_BITS 8
#define TG_TIME_ROW tg_svdf_time_row_s8
#include "tg_svdf_body.inc"
