/* tinygen runtime: the int8 dot-product core of the Helium (MVE) FULLY_CONNECTED and CONV_2D kernels.
 *
 * out[r] = clamp(MBQM(bias[r] + sum_k col[k] * w[r][k]) + output_offset, act_min, act_max) for r < rows,
 * col: k raw int8 values (the lowering folded the input offset into the biases). w: the int8 filter
 * rows in blocks of 4 rows (zero rows past `rows`), each block 16 bytes of row 0, 16 of row 1, 16 of
 * row 2, 16 of row 3, then the next 16 of each, k rounded up to 16 with zeros (TG_MVE_K16). rq: tg_mve.h
 * records; left_shift 0 when none of their left shifts is positive (the shift step is then skipped). 16 products per VMLADAVA; the last partial vector of col is read under a predicate.
 */
#ifndef TG_GEMM_S8_MVE_H
#define TG_GEMM_S8_MVE_H

#include "tg_common.h"

#define TG_MVE_K16(k) (((k) + 15) / 16 * 16)

void tg_gemm_s8_mve(const int8_t *col, int32_t k, const int8_t *w, int32_t rows, const int32_t *rq,
    int32_t left_shift, int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out);

#endif /* TG_GEMM_S8_MVE_H */
