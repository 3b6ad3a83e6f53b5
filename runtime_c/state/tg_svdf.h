/* tinygen runtime: SVDF with int8 input / output and an int8 or int16 memory (TFLM integer semantics).
 *
 * state is the op's variable tensor, [batch][filters][memory], kept across invokes. Each call:
 *   1. shifts the whole state buffer left by one element;
 *   2. for every batch b and filter f: state[b][f][memory - 1] =
 *        state_zp + clamp(MBQM(sum_i wf[f][i] * (x[b][i] - input_zp), mult1, shift1), T range),
 *      the sum narrowed to T modulo 2^bits (TFLM adds the zero point after its clamp);
 *   3. for every filter: t[f] = sum_j wt[f][j] * (state[b][f][j] - state_zp);
 *   4. out[b][u] = clamp(MBQM(bias[u] + sum_{r < rank} t[u * rank + r], mult2, shift2) + output_zp, int8).
 * The sums wrap in int32 as TFLM's do (computed here in unsigned arithmetic). No fused activation:
 * TFLM's integer kernel applies none. scratch: one int32 per filter, 4-byte aligned (the
 * *_get_buffer_size twins). Returns TG_OK, or TG_ERROR for a rank that does not divide filters.
 */
#ifndef TG_SVDF_H
#define TG_SVDF_H

#include "tg_common.h"

int tg_svdf_s8(int32_t batch, int32_t input_size, int32_t filters, int32_t rank, int32_t memory,
    int32_t input_zp, int32_t mult1, int32_t shift1, int32_t state_zp, int32_t mult2, int32_t shift2,
    int32_t output_zp, const int8_t *input, const int8_t *weights_feature, const int8_t *weights_time,
    const int32_t *bias, int8_t *state, void *scratch, int8_t *output);

int tg_svdf_s8_s16(int32_t batch, int32_t input_size, int32_t filters, int32_t rank, int32_t memory,
    int32_t input_zp, int32_t mult1, int32_t shift1, int32_t state_zp, int32_t mult2, int32_t shift2,
    int32_t output_zp, const int8_t *input, const int8_t *weights_feature, const int16_t *weights_time,
    const int32_t *bias, int16_t *state, void *scratch, int8_t *output);

/* Scratch bytes of each entry point. */
int32_t tg_svdf_s8_get_buffer_size(int32_t filters);
int32_t tg_svdf_s8_s16_get_buffer_size(int32_t filters);

#endif /* TG_SVDF_H */
