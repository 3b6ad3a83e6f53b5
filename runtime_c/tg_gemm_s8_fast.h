/* tinygen runtime: the int8 GEMM core of the fast conv and fully-connected kernels.
 *
 * Computes, for n_cols (1 or 2) columns and every output channel oc of out_c:
 *   acc = bias[oc] + sum over k < 4*k4 of filter[oc][k] * col[k]
 *   out = clamp(tg_requantize_rs(acc, mult[oc], rshift[oc]) + output_offset, act_min, act_max)
 * quant holds 5 int32 per channel: bias[oc], mult[oc], the rounding term 2^30 + 2^(30 + rshift[oc])
 * as low and high words, rshift[oc] - 1 (tinygen/kernels/fast.py: requant_records).
 * writing out0[oc] (column 0) and out1[oc] (column 1, ignored when n_cols == 1).
 *
 * The input offset is folded into bias offline (bias[oc] += input_offset * sum_k filter[oc][k]), so
 * columns hold raw int8 values (padding taps hold the input zero point), sign-extended to int16
 * pairs in SXTB16 order: each group of 4 values c0..c3 is the two words (c0 | c2 << 16),
 * (c1 | c3 << 16); see tg_gemm_cols_s8. With two columns the groups alternate A, B, A, B...
 * Filter rows are padded with zeros to 4*k4 and interleaved offline in pairs of output channels,
 * 4 bytes at a time (row 2p bytes 4j..4j+3, then row 2p+1 bytes 4j..4j+3); an odd last row is
 * stored plain; the packed bytes are passed as little-endian int32 words. rshift >= 1 for every
 * channel (checked offline).
 */
#ifndef TG_GEMM_S8_FAST_H
#define TG_GEMM_S8_FAST_H

#include "tg_common.h"

void tg_gemm_s8_fast(const uint32_t *cols, int32_t n_cols, int32_t k4,
                     const int32_t *filter, const int32_t *quant,
                     int32_t output_offset, int32_t act_min, int32_t act_max,
                     int32_t out_c, int8_t *out0, int8_t *out1);

/* Append `count` (a multiple of 4) int8 values at src to a column buffer, in the layout above:
 * stride_words is 2 for a single column, 4 for the interleaved pair (start at cols + 2 for B). */
void tg_gemm_cols_s8(const int8_t *src, int32_t count, uint32_t *cols, int32_t stride_words);

#endif /* TG_GEMM_S8_FAST_H */
