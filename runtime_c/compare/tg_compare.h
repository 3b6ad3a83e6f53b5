/* tinygen runtime: comparisons, SELECT_V2 and logical ops with broadcasting (TFLM reference semantics).
 * bool tensors are uint8_t holding 0 or 1.
 *
 * Broadcasting as ADD (tg_add.h): output [d0, d1, d2, d3], every operand addressed with per-dimension
 * element strides, 0 along a broadcast dimension. No scratch. Returns TG_OK.
 *
 * tg_compare_s8: a = MBQM((in1 + off1) << 8, mult1, shift1), b likewise with input 2;
 *   out = a OP b with op 0 ==, 1 !=, 2 <, 3 <=, 4 >, 5 >= (shifts <= 0: TFLM's scales are below 1).
 * tg_compare_bool: out = in1 OP in2 on the stored bytes (op 0 or 1).
 * tg_select_s8 / _s16: out = cond ? x : y, the stored values copied; five dimensions d0..d4 (TFLM's
 *   SELECT_V2 broadcasts up to rank 5), strides likewise.
 * tg_logical_and / tg_logical_or: out = in1 && in2 / in1 || in2. tg_logical_not: out = !in (in place
 * allowed).
 */
#ifndef TG_COMPARE_H
#define TG_COMPARE_H

#include "tg_common.h"

int tg_compare_s8(int32_t op, int32_t off1, int32_t mult1, int32_t shift1, int32_t off2, int32_t mult2,
    int32_t shift2, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1,
    int32_t in1_s2, int32_t in1_s3, const int8_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2,
    int32_t in2_s3, const int8_t *input2, uint8_t *output);

int tg_compare_bool(int32_t op, int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0,
    int32_t in1_s1, int32_t in1_s2, int32_t in1_s3, const uint8_t *input1, int32_t in2_s0, int32_t in2_s1,
    int32_t in2_s2, int32_t in2_s3, const uint8_t *input2, uint8_t *output);

int tg_select_s8(int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t d4, int32_t c_s0, int32_t c_s1, int32_t c_s2,
    int32_t c_s3, int32_t c_s4, const uint8_t *cond, int32_t x_s0, int32_t x_s1, int32_t x_s2, int32_t x_s3,
    int32_t x_s4, const int8_t *x, int32_t y_s0, int32_t y_s1, int32_t y_s2, int32_t y_s3, int32_t y_s4,
    const int8_t *y, int8_t *output);

int tg_select_s16(int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t d4, int32_t c_s0, int32_t c_s1, int32_t c_s2,
    int32_t c_s3, int32_t c_s4, const uint8_t *cond, int32_t x_s0, int32_t x_s1, int32_t x_s2, int32_t x_s3,
    int32_t x_s4, const int16_t *x, int32_t y_s0, int32_t y_s1, int32_t y_s2, int32_t y_s3, int32_t y_s4,
    const int16_t *y, int16_t *output);

int tg_logical_and(int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1,
    int32_t in1_s2, int32_t in1_s3, const uint8_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2,
    int32_t in2_s3, const uint8_t *input2, uint8_t *output);

int tg_logical_or(int32_t d0, int32_t d1, int32_t d2, int32_t d3, int32_t in1_s0, int32_t in1_s1,
    int32_t in1_s2, int32_t in1_s3, const uint8_t *input1, int32_t in2_s0, int32_t in2_s1, int32_t in2_s2,
    int32_t in2_s3, const uint8_t *input2, uint8_t *output);

int tg_logical_not(int32_t size, const uint8_t *input, uint8_t *output);

#endif /* TG_COMPARE_H */
