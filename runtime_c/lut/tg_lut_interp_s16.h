/* tinygen runtime: an element-wise function of int16 values as a 513-entry table (tinygen's LUT op).
 *
 * table[i] is the quantized output at input code -32768 + 128 * i (i = 0 .. 512; entry 512 lies one step
 * past the last code). For an input v: i = (v + 32768) >> 7, f = (v + 32768) & 127,
 *   out = table[i] + floor(((table[i + 1] - table[i]) * f + 64) / 128)
 * in int32 (no wrap: neighbouring entries may differ by up to 65535), which stays between the two
 * entries, so no clamp is needed. Any size >= 0; no scratch; in place (input == output) is allowed;
 * returns TG_OK.
 */
#ifndef TG_LUT_INTERP_S16_H
#define TG_LUT_INTERP_S16_H

#include "tg_common.h"

int tg_lut_interp_s16(int32_t size, const int16_t *table, const int16_t *input, int16_t *output);

#endif /* TG_LUT_INTERP_S16_H */
