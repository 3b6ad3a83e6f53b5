/* tinygen runtime: Helium (MVE) int8 ADD / SUB of two same-shape tensors (no broadcasting).
 *
 * Same result as tg_add_s8 / tg_sub_s8 (TFLM reference, bit-exact). Each input's rescale depends on its
 * int8 value alone, so the lowering tabulates it exactly for the 256 values (table[q + 128]; SUB negates
 * table2); four elements per step gather their two table entries (VLDRW gather), add them and apply
 * the output rescale: clamp(MBQM(raw, out_mult, -out_right) + output_offset), out_right >= 0.
 * No scratch. Returns TG_OK.
 */
#ifndef TG_ADD_S8_MVE_H
#define TG_ADD_S8_MVE_H

#include "tg_common.h"

int tg_add_s8_mve(const int32_t *table1, const int32_t *table2, int32_t out_mult, int32_t out_right,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t size, const int8_t *input1,
    const int8_t *input2, int8_t *output);

#endif /* TG_ADD_S8_MVE_H */
