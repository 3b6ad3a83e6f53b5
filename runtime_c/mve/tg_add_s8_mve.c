/* tinygen runtime: Helium (MVE) int8 ADD / SUB (see tg_add_s8_mve.h). */
#include "tg_add_s8_mve.h"

#include "tg_mve.h"

#if TG_HAS_MVE

/* 4 outputs from 4 gathered pairs (lanes outside p are neither read nor written) */
static inline void add4(const int32_t *t1, const int32_t *t2, int32_t mult, int32_t right, int32_t output_offset,
    int32_t act_min, int32_t act_max, const int8_t *x1, const int8_t *x2, int8_t *out, mve_pred16_t p)
{
    /* the tables are addressed from their middle entry with the signed int8 value as offset */
    const uint32x4_t o1 = vreinterpretq_u32_s32(vldrbq_z_s32(x1, p));
    const uint32x4_t o2 = vreinterpretq_u32_s32(vldrbq_z_s32(x2, p));
    int32x4_t v = vaddq_s32(vldrwq_gather_shifted_offset_z_s32(t1 + 128, o1, p),
                            vldrwq_gather_shifted_offset_z_s32(t2 + 128, o2, p));
    v = vqrdmulhq_n_s32(v, mult);
    if (right > 0) {
        v = vrshlq_n_s32(vqaddq_s32(v, vshrq_n_s32(v, 31)), -right);
    }
    v = vaddq_n_s32(v, output_offset);
    v = vminq_s32(vmaxq_s32(v, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
    vstrbq_p_s32(out, v, p);
}

int tg_add_s8_mve(const int32_t *table1, const int32_t *table2, int32_t out_mult, int32_t out_right,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t size, const int8_t *input1,
    const int8_t *input2, int8_t *output)
{
    for (int32_t i = 0; i < size; i += 4) {
        add4(table1, table2, out_mult, out_right, output_offset, act_min, act_max, input1 + i, input2 + i,
             output + i, vctp32q((uint32_t)(size - i)));
    }
    return TG_OK;
}

#else

int tg_add_s8_mve(const int32_t *table1, const int32_t *table2, int32_t out_mult, int32_t out_right,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t size, const int8_t *input1,
    const int8_t *input2, int8_t *output)
{
    for (int32_t i = 0; i < size; i++) {
        const int32_t raw = table1[input1[i] + 128] + table2[input2[i] + 128];
        output[i] = (int8_t)tg_clamp(tg_requantize(raw, out_mult, -out_right) + output_offset, act_min, act_max);
    }
    return TG_OK;
}

#endif
