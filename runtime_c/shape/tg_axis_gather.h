/* tinygen runtime: per-axis gather, int8 and int16: MIRROR_PAD, REVERSE_V2 and BROADCAST_TO.
 *
 * The output holds [d0, d1, d2, d3] elements, row-major. offsets holds d0 + d1 + d2 + d3 input element
 * offsets, one table per axis in order (t0 = offsets, t1 = t0 + d0, t2 = t1 + d1, t3 = t2 + d2); output
 * element (k0, k1, k2, k3) is input[t0[k0] + t1[k1] + t2[k2] + t3[k3]]. Each table already holds the
 * chosen input index times the input's stride on that axis. With contiguous_rows set, t3[k3] = k3
 * for every k3 and a row is copied at once.
 * One body for both types: tg_axis_gather_body.inc.
 * No scratch. Returns TG_OK.
 */
#ifndef TG_AXIS_GATHER_H
#define TG_AXIS_GATHER_H

#include "tg_common.h"

int tg_axis_gather_s8(int32_t d0, int32_t d1, int32_t d2, int32_t d3, const int32_t *offsets,
    int32_t contiguous_rows, const int8_t *input, int8_t *output);

int tg_axis_gather_s16(int32_t d0, int32_t d1, int32_t d2, int32_t d3, const int32_t *offsets,
    int32_t contiguous_rows, const int16_t *input, int16_t *output);

#endif /* TG_AXIS_GATHER_H */
