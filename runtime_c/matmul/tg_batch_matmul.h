/* tinygen runtime: BATCH_MATMUL, TFLM's reference arithmetic.
 *
 * For each of `batches` products b, with lhs_b = lhs + batch_offsets[2b] and the right operand at offset
 * batch_offsets[2b+1] (the lowering resolves batch broadcasting into this table):
 *   out[b][a][c] = clamp(requantize(sum_k (L[a][k] - lhs_zp) * (R[k][c] - rhs_zp)) + out_zp, type range)
 * where L[a][k] = lhs_b[a * depth + k], or lhs_b[k * rows + a] when lhs_t != 0 (adj_x). Output rows are
 * `cols` long.
 *
 * int8 (tg_batch_matmul_s8): the right operand is used packed (tg_batch_matmul_s8_pack.h): either a
 * constant the lowering packed (rhs_layout TG_BMM_PACKED, rhs_packed + offset in int32 words), or an
 * activation rhs + offset packed into scratch per product (rhs_layout TG_BMM_RAW_CK: R[k][c] at
 * [c * depth + k] (adj_y); TG_BMM_RAW_KC: at [k * cols + c]). The sum is int32 (wrapping like TFLM's),
 * requantized by tg_requantize(mult, shift). Scratch: the packed operand (int32 words), then with lhs_t
 * the lhs transposed (rows * depth bytes); tg_batch_matmul_s8_get_buffer_size gives its bytes.
 *
 * int16 (tg_batch_matmul_s16): zero points are 0 (TFLM requires it), R[k][c] = rhs_b[k * cols + c], or
 * rhs_b[c * depth + k] when rhs_t == 0 (adj_y, or a constant the lowering stored transposed); int64 sums
 * requantized by tg_requantize64. Scratch: with lhs_t the lhs transposed, then with rhs_t the rhs
 * transposed ([c][k]), int16 each. Returns TG_OK.
 */
#ifndef TG_BATCH_MATMUL_H
#define TG_BATCH_MATMUL_H

#include "tg_common.h"

#define TG_BMM_PACKED 0
#define TG_BMM_RAW_CK 1
#define TG_BMM_RAW_KC 2

int tg_batch_matmul_s8(int8_t *scratch, int32_t batches, const int32_t *batch_offsets, int32_t rows, int32_t depth,
    int32_t cols, int32_t lhs_t, int32_t rhs_layout, int32_t lhs_zp, int32_t rhs_zp, int32_t out_zp, int32_t mult,
    int32_t shift, const int8_t *lhs, const int8_t *rhs, const int32_t *rhs_packed, int8_t *output);

int32_t tg_batch_matmul_s8_get_buffer_size(int32_t rows, int32_t depth, int32_t cols, int32_t lhs_t,
    int32_t rhs_layout);

int tg_batch_matmul_s16(int8_t *scratch, int32_t batches, const int32_t *batch_offsets, int32_t rows, int32_t depth,
    int32_t cols, int32_t lhs_t, int32_t rhs_t, int32_t mult, int32_t shift, const int16_t *lhs, const int16_t *rhs,
    int16_t *output);

int32_t tg_batch_matmul_s16_get_buffer_size(int32_t rows, int32_t depth, int32_t cols, int32_t lhs_t, int32_t rhs_t);

#endif /* TG_BATCH_MATMUL_H */
