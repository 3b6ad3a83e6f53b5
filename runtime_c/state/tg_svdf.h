/* tinygen runtime: SVDF with int8 input / output and an int8 or int16 memory (TFLM integer semantics).
 *
 * state is the op's variable tensor, [batch][filters][memory], kept across invokes, in TFLM's layout. Each
 * call, for every batch row b and filter f:
 *   1. v = state_zp + clamp(MBQM(sum_i wf[f][i] * (x[b][i] - input_zp), mult1, shift1), T range), narrowed
 *      to T modulo 2^bits (TFLM adds the zero point after its clamp);
 *   2. the filter's memory row moves left by one and v enters last (TFLM shifts the whole buffer, then
 *      overwrites every row's last value: the same state);
 *   3. t[f] = sum_j wt[f][j] * (state[b][f][j] - state_zp);
 * then out[b][u] = clamp(MBQM(bias[u] + sum_{r < rank} t[u * rank + r], mult2, shift2) + output_zp, int8).
 * The sums wrap in int32 as TFLM's do, so the zero points are folded offline (tinygen/lower/svdf.py):
 *   feature_bias[f] = -input_zp * sum_i wf[f][i], bias[u] = bias - state_zp * sum_{r, j} wt[u * rank + r][j].
 * No fused activation: TFLM's integer kernel applies none.
 *
 * Layouts (tinygen/lower/svdf.py, pack_feature / pack_time):
 *   weights_feature: the filters padded with zero rows to a multiple of 4, each row padded with zeros to a
 *     multiple of 4 values, pre-extended to int16 pairs in blocks of 4 rows (tg_smlad_quad.h);
 *     feature_bias: one int32 per padded filter.
 *   weights_time, per filter, word aligned: int16 memory: the memory values as int16, padded to an even
 *     count; int8 memory: g = (memory - 1) / 4 groups of 4 values as the pairs (w0 | w2 << 16),
 *     (w1 | w3 << 16), then the memory - 4g remaining values as int16, padded to an even count.
 * On the device the feature matrix runs SMLAD over 4 rows at a time (13 instructions per 16 MACs); the
 * time matrix runs SMLAD on state pairs while moving them (int16: LDR, STR, SMLAD per 2 values).
 * scratch: tg_svdf_*_get_buffer_size(input_size, filters) bytes, 4-byte aligned (x as int16 pairs, one
 * int32 per filter). Returns TG_OK, or TG_ERROR for a rank that does not divide filters.
 */
#ifndef TG_SVDF_H
#define TG_SVDF_H

#include "tg_common.h"

int tg_svdf_s8(int32_t batch, int32_t input_size, int32_t filters, int32_t rank, int32_t memory,
    int32_t mult1, int32_t shift1, int32_t state_zp, int32_t mult2, int32_t shift2, int32_t output_zp,
    const int8_t *input, const int32_t *weights_feature, const int32_t *feature_bias,
    const int32_t *weights_time, const int32_t *bias, int8_t *state, void *scratch, int8_t *output);

int tg_svdf_s8_s16(int32_t batch, int32_t input_size, int32_t filters, int32_t rank, int32_t memory,
    int32_t mult1, int32_t shift1, int32_t state_zp, int32_t mult2, int32_t shift2, int32_t output_zp,
    const int8_t *input, const int32_t *weights_feature, const int32_t *feature_bias,
    const int32_t *weights_time, const int32_t *bias, int16_t *state, void *scratch, int8_t *output);

/* Scratch bytes of each entry point. */
int32_t tg_svdf_s8_get_buffer_size(int32_t input_size, int32_t filters);
int32_t tg_svdf_s8_s16_get_buffer_size(int32_t input_size, int32_t filters);

#endif /* TG_SVDF_H */
