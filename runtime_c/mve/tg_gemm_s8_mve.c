/* tinygen runtime: int8 dot-product core of the Helium kernels (see tg_gemm_s8_mve.h). */
#include "tg_gemm_s8_mve.h"

#include "tg_mve.h"

#if TG_HAS_MVE

/* one group of 4 rows: the accumulators over the full 16-value blocks and the tail block (xt, when `tail`),
 * requantized; returns the group's 4 int8 in the low bytes of 4 lanes; *wp moves past the group */
TG_MVE_INLINE int32x4_t group(const int8_t *col, int32_t full, int32_t tail, int8x16_t xt, const int8_t **wp,
    const int32_t *rq, int left, int32x4_t voff, int32x4_t vmin, int32x4_t vmax)
{
    const int8_t *w = *wp;
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
    *wp = w;
    int32x4_t acc = vdupq_n_s32(a0);
    acc = vsetq_lane_s32(a1, acc, 1);
    acc = vsetq_lane_s32(a2, acc, 2);
    acc = vsetq_lane_s32(a3, acc, 3);
    const int32x4_t right = vldrwq_s32(rq + 12);
    acc = vqrdmulhq_s32(left ? vshlq_s32(acc, vldrwq_s32(rq + 8)) : acc, vldrwq_s32(rq + 4));
    acc = vqaddq_s32(acc, vshrq_n_s32(vandq_s32(acc, right), 31));
    acc = vaddq_s32(vrshlq_s32(acc, right), voff);
    return vminq_s32(vmaxq_s32(acc, vmin), vmax);
}

/* the gemm, with or without the left-shift step (a constant in each caller) */
TG_MVE_INLINE void gemm(const int8_t *col, int32_t k, const int8_t *w, int32_t rows, const int32_t *rq,
    int left, int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    const int32_t full = k / 16;
    const int32_t tail = k % 16;
    const int8x16_t xt = vldrbq_z_s8(col + 16 * full, vctp8q((uint32_t)tail));
    const int32x4_t voff = vdupq_n_s32(output_offset), vmin = vdupq_n_s32(act_min), vmax = vdupq_n_s32(act_max);
    int8_t *const end = out + (rows & ~3);
    for (; out < end; out += 4, rq += TG_MVE_RQ_WORDS) {
        vstrbq_s32(out, group(col, full, tail, xt, &w, rq, left, voff, vmin, vmax));
    }
    if (rows & 3) {
        vstrbq_p_s32(out, group(col, full, tail, xt, &w, rq, left, voff, vmin, vmax), vctp32q((uint32_t)(rows & 3)));
    }
}

void tg_gemm_s8_mve(const int8_t *col, int32_t k, const int8_t *w, int32_t rows, const int32_t *rq,
    int32_t left_shift, int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    if (left_shift) {
        gemm(col, k, w, rows, rq, 1, output_offset, act_min, act_max, out);
    } else {
        gemm(col, k, w, rows, rq, 0, output_offset, act_min, act_max, out);
    }
}

#else

void tg_gemm_s8_mve(const int8_t *col, int32_t k, const int8_t *w, int32_t rows, const int32_t *rq,
    int32_t left_shift, int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    (void)left_shift; /* the plain-C requantizer shifts by the record's total */
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
