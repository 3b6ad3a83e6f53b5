/* tinygen runtime: MAXIMUM and MINIMUM with broadcasting, int8 and int16 (TFLM reference semantics:
 * the stored integers are compared, nothing is requantized).
 * Broadcasting as ADD (tg_add.h): output [d0, d1, d2, d3], operands addressed with per-dimension
 * element strides, 0 along a broadcast dimension. The output may start at an input's address when
 * that input has the output's shape (element i is read before it is written).
 * One body for the four entry points: tg_minmax_body.inc. No scratch. Returns TG_OK.
 */
#ifndef TG_MINMAX_H
#define TG_MINMAX_H

#include "tg_common.h"

int tg_maximum_s8(int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1,
    int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2,
    int32_t in2_s3, const int8_t *input2, int8_t *output);

int tg_minimum_s8(int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1,
    int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2,
    int32_t in2_s3, const int8_t *input2, int8_t *output);

int tg_maximum_s16(int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1,
    int32_t in1_s2, int32_t in1_s3, const int16_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2,
    int32_t in2_s3, const int16_t *input2, int16_t *output);

int tg_minimum_s16(int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1,
    int32_t in1_s2, int32_t in1_s3, const int16_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2,
    int32_t in2_s3, const int16_t *input2, int16_t *output);

#endif /* TG_MINMAX_H */
