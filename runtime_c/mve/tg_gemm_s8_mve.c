/* tinygen runtime: int8 dot-product core of the Helium kernels (see tg_gemm_s8_mve.h). */
#include "tg_gemm_s8_mve.h"

#include "tg_mve.h"

#if TG_HAS_MVE

/* lanes a0..a3 as one vector */
TG_MVE_INLINE int32x4_t lanes(int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    int32x4_t v = vdupq_n_s32(a0);
    v = vsetq_lane_s32(a1, v, 1);
    v = vsetq_lane_s32(a2, v, 2);
    return vsetq_lane_s32(a3, v, 3);
}

void tg_gemm_s8_mve(const int8_t *col, int32_t k, const int8_t *w, int32_t rows, const int32_t *rq,
    int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    const int32_t full = k / 16;
    const int32_t tail = k % 16;
    const int8x16_t xt = vldrbq_z_s8(col + 16 * full, vctp8q((uint32_t)tail));
    for (int32_t g = 0; g < rows; g += 4, rq += TG_MVE_RQ_WORDS) {
        int32_t a0 = rq[0], a1 = rq[1], a2 = rq[2], a3 = rq[3];
        const int8_t *x = col;
        for (int32_t i = 0; i < full; i++) {
            const int8x16_t xv = vld1q_s8(x);
            x += 16;
            a0 = vmladavaq_s8(a0, xv, vld1q_s8(w));
            a1 = vmladavaq_s8(a1, xv, vld1q_s8(w + 16));
            a2 = vmladavaq_s8(a2, xv, vld1q_s8(w + 32));
            a3 = vmladavaq_s8(a3, xv, vld1q_s8(w + 48));
            w += 64;
        }
        if (tail) { /* the filter's zero padding meets the predicated zeros of xt */
            a0 = vmladavaq_s8(a0, xt, vld1q_s8(w));
            a1 = vmladavaq_s8(a1, xt, vld1q_s8(w + 16));
            a2 = vmladavaq_s8(a2, xt, vld1q_s8(w + 32));
            a3 = vmladavaq_s8(a3, xt, vld1q_s8(w + 48));
            w += 64;
        }
        int32x4_t acc = vdupq_n_s32(a0);
        acc = vsetq_lane_s32(a1, acc, 1);
        acc = vsetq_lane_s32(a2, acc, 2);
        acc = vsetq_lane_s32(a3, acc, 3);
        acc = tg_mve_rq4(acc, rq + 4, output_offset, act_min, act_max);
        if (rows - g >= 4) {
            vstrbq_s32(out + g, acc);
        } else {
            vstrbq_p_s32(out + g, acc, vctp32q((uint32_t)(rows - g)));
        }
    }
}

#else

void tg_gemm_s8_mve(const int8_t *col, int32_t k, const int8_t *w, int32_t rows, const int32_t *rq,
    int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    const int32_t kp = TG_MVE_K16(k);
    for (int32_t r = 0; r < rows; r++) {
        const int32_t *q = rq + (r / 4) * TG_MVE_RQ_WORDS;
        const int8_t *block = w + (r / 4) * 4 * kp + (r % 4) * 16;
        int32_t acc = q[r % 4];
        for (int32_t i = 0; i < k; i++) {
            acc = (int32_t)((uint32_t)acc + (uint32_t)(col[i] * block[(i / 16) * 64 + i % 16]));
        }
        out[r] = (int8_t)tg_mve_rq1(acc, q + 4 + r % 4, output_offset, act_min, act_max);
    }
}

#endif
