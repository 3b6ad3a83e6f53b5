/* tinygen runtime: Helium (MVE) int8 CONV_2D (see tg_conv2d_s8_mve.h). */
#include "tg_conv2d_s8_mve.h"

#include "tg_gemm_s8_mve.h"
#include "tg_mve.h"

/* the largest window (fh * fw * in_c bytes), gathered on the stack (the lowering checks it) */
#define TG_CONV_MVE_COL_MAX 1024

/* n bytes from src to dst (src NULL: n copies of zp) */
static inline void fill_or_copy(int8_t *dst, const int8_t *src, int8_t zp, int32_t n)
{
#if TG_HAS_MVE
    const int8x16_t zv = vdupq_n_s8(zp);
    for (; n > 0; n -= 16, dst += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)n);
        int8x16_t v = zv;
        if (src != NULL) {
            v = vldrbq_z_s8(src, p);
            src += 16;
        }
        vstrbq_p_s8(dst, v, p);
    }
#else
    for (int32_t i = 0; i < n; i++) {
        dst[i] = src != NULL ? src[i] : zp;
    }
#endif
}

/* The window row of image row `row` (NULL: outside the image) into dst, fw * in_c bytes, input_zp
 * for the taps outside the image. */
static void gather_row(int8_t *dst, const int8_t *row, int32_t ix0, int32_t dilation_w, int32_t in_w,
    int32_t in_c, int32_t fw, int8_t zp)
{
    if (row == NULL) {
        fill_or_copy(dst, NULL, zp, fw * in_c);
    } else if (dilation_w == 1) {
        const int32_t kx0 = ix0 < 0 ? TG_MIN(-ix0, fw) : 0;
        const int32_t kx1 = TG_MAX(kx0, TG_MIN(fw, in_w - ix0));
        if (kx0 == 0 && kx1 == fw) { /* the whole row inside the image: one copy */
            fill_or_copy(dst, row + ix0 * in_c, zp, fw * in_c);
            return;
        }
        fill_or_copy(dst, NULL, zp, kx0 * in_c);
        fill_or_copy(dst + kx0 * in_c, row + (ix0 + kx0) * in_c, zp, (kx1 - kx0) * in_c);
        fill_or_copy(dst + kx1 * in_c, NULL, zp, (fw - kx1) * in_c);
    } else {
        for (int32_t kx = 0; kx < fw; kx++) {
            const int32_t ix = ix0 + kx * dilation_w;
            fill_or_copy(dst + kx * in_c, ix >= 0 && ix < in_w ? row + ix * in_c : NULL, zp, in_c);
        }
    }
}

#if TG_HAS_MVE
/* A 1x1 unpadded conv with k <= 16 input channels: each group's 4 filter rows (one 16-value block) stay in
 * registers while every output pixel runs under them (row_step / col_step: bytes between the input pixels
 * of consecutive output rows / columns). */
TG_OUTLINE void narrow_1x1(const int8_t *image, int32_t row_step, int32_t col_step, int32_t k, const int8_t *filter,
    const int32_t *rq, int32_t left_shift, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output)
{
    const mve_pred16_t pk = vctp8q((uint32_t)k);
    for (int32_t g = 0; g < out_c; g += 4, rq += TG_MVE_RQ_WORDS, filter += 64) {
        const int8x16_t w0 = vld1q_s8(filter), w1 = vld1q_s8(filter + 16);
        const int8x16_t w2 = vld1q_s8(filter + 32), w3 = vld1q_s8(filter + 48);
        const mve_pred16_t keep = vctp32q((uint32_t)(out_c - g));
        const int32_t b0 = rq[0], b1 = rq[1], b2 = rq[2], b3 = rq[3];
        int8_t *out = output + g;
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int8_t *x = image + oy * row_step;
            for (int32_t ox = 0; ox < out_w; ox++, x += col_step, out += out_c) {
                const int8x16_t xv = vldrbq_z_s8(x, pk);
                int32x4_t acc = vdupq_n_s32(vmladavaq_s8(b0, xv, w0));
                acc = vsetq_lane_s32(vmladavaq_s8(b1, xv, w1), acc, 1);
                acc = vsetq_lane_s32(vmladavaq_s8(b2, xv, w2), acc, 2);
                acc = vsetq_lane_s32(vmladavaq_s8(b3, xv, w3), acc, 3);
                if (left_shift) {
                    acc = vshlq_s32(acc, vldrwq_s32(rq + 8));
                }
                const int32x4_t right = vldrwq_s32(rq + 12);
                acc = vqrdmulhq_s32(acc, vldrwq_s32(rq + 4));
                acc = vqaddq_s32(acc, vshrq_n_s32(vandq_s32(acc, right), 31));
                acc = vaddq_n_s32(vrshlq_s32(acc, right), output_offset);
                acc = vminq_s32(vmaxq_s32(acc, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
                vstrbq_p_s32(out, acc, keep);
            }
        }
    }
}

/* A 1x1 unpadded conv with k > 16 input channels, group by group: each group's requantization constants
 * stay in registers while every output pixel runs under them, 16 inputs x 4 filter rows per 4 VMLADAVA
 * (the last partial block of inputs read under a predicate, the filter's zero padding meeting its zeros). */
TG_MVE_INLINE void wide_body(const int8_t *image, int32_t row_step, int32_t col_step, int32_t k, const int8_t *filter,
    const int32_t *rq, int32_t left_shift, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output)
{
    const int32_t full = k / 16, kp = TG_MVE_K16(k);
    const mve_pred16_t pt = vctp8q((uint32_t)(k % 16));
    const int32x4_t vmin = vdupq_n_s32(act_min), vmax = vdupq_n_s32(act_max);
    for (int32_t g = 0; g < out_c; g += 4, rq += TG_MVE_RQ_WORDS, filter += 4 * kp) {
        const mve_pred16_t keep = vctp32q((uint32_t)(out_c - g));
        const int32x4_t mult = vldrwq_s32(rq + 4), lsh = vldrwq_s32(rq + 8), right = vldrwq_s32(rq + 12);
        int8_t *out = output + g;
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int8_t *px = image + oy * row_step;
            for (int32_t ox = 0; ox < out_w; ox++, px += col_step, out += out_c) {
                int32_t a0 = rq[0], a1 = rq[1], a2 = rq[2], a3 = rq[3];
                const int8_t *x = px, *w = filter;
                for (int32_t i = 0; i < full; i++, x += 16, w += 64) {
                    const int8x16_t xv = vld1q_s8(x);
                    a0 = vmladavaq_s8(a0, xv, vld1q_s8(w));
                    a1 = vmladavaq_s8(a1, xv, vld1q_s8(w + 16));
                    a2 = vmladavaq_s8(a2, xv, vld1q_s8(w + 32));
                    a3 = vmladavaq_s8(a3, xv, vld1q_s8(w + 48));
                }
                if (kp != k) {
                    const int8x16_t xv = vldrbq_z_s8(x, pt);
                    a0 = vmladavaq_s8(a0, xv, vld1q_s8(w));
                    a1 = vmladavaq_s8(a1, xv, vld1q_s8(w + 16));
                    a2 = vmladavaq_s8(a2, xv, vld1q_s8(w + 32));
                    a3 = vmladavaq_s8(a3, xv, vld1q_s8(w + 48));
                }
                int32x4_t acc = vdupq_n_s32(a0);
                acc = vsetq_lane_s32(a1, acc, 1);
                acc = vsetq_lane_s32(a2, acc, 2);
                acc = vsetq_lane_s32(a3, acc, 3);
                if (left_shift) {
                    acc = vshlq_s32(acc, lsh);
                }
                acc = vqrdmulhq_s32(acc, mult);
                acc = vqaddq_s32(acc, vshrq_n_s32(vandq_s32(acc, right), 31));
                acc = vaddq_n_s32(vrshlq_s32(acc, right), output_offset);
                acc = vminq_s32(vmaxq_s32(acc, vmin), vmax);
                vstrbq_p_s32(out, acc, keep);
            }
        }
    }
}

/* wide_body, with the common depths as constants (the block loop unrolled) */
TG_OUTLINE void wide_1x1(const int8_t *image, int32_t row_step, int32_t col_step, int32_t k, const int8_t *filter,
    const int32_t *rq, int32_t left_shift, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output)
{
    switch (k) {
    case 32:
        wide_body(image, row_step, col_step, 32, filter, rq, left_shift, output_offset, act_min, act_max, out_h, out_w,
                  out_c, output);
        break;
    case 64:
        wide_body(image, row_step, col_step, 64, filter, rq, left_shift, output_offset, act_min, act_max, out_h, out_w,
                  out_c, output);
        break;
    default:
        wide_body(image, row_step, col_step, k, filter, rq, left_shift, output_offset, act_min, act_max, out_h, out_w,
                  out_c, output);
        break;
    }
}
#endif

int tg_conv2d_s8_mve(int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_zp, int32_t output_offset,
    int32_t act_min, int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
    const int8_t *input, int32_t fh, int32_t fw, const int8_t *filter, const int32_t *rq, int32_t out_h,
    int32_t out_w, int32_t out_c, int32_t left_shift, int32_t row_stride, int8_t *output)
{
    const int32_t k = fh * fw * in_c;
    const int32_t pointwise = fh == 1 && fw == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0
        && pad_left == 0 && out_h == in_h && out_w == in_w;
#if TG_HAS_MVE
    if (fh == 1 && fw == 1 && pad_top == 0 && pad_left == 0) {
        for (int32_t b = 0; b < batches; b++) {
            (k <= 16 ? narrow_1x1 : wide_1x1)(input + b * in_h * in_w * in_c, in_w * in_c * stride_h, in_c * stride_w, k, filter, rq,
                       left_shift, output_offset, act_min, act_max, out_h, out_w, out_c,
                       output + b * out_h * out_w * out_c);
        }
        return TG_OK;
    }
#endif
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *image = input + b * in_h * in_w * in_c;
        if (pointwise) {
            for (int32_t p = 0; p < in_h * in_w; p++, output += out_c) {
                tg_gemm_s8_mve(image + p * in_c, k, filter, out_c, rq, left_shift, output_offset, act_min, act_max, output);
            }
            continue;
        }
        /* window rows row_stride bytes apart (the filter's layout); the bytes between them stay 0 */
        int8_t col[TG_CONV_MVE_COL_MAX];
        fill_or_copy(col, NULL, 0, fh * row_stride);
        for (int32_t oy = 0; oy < out_h; oy++) {
            for (int32_t ox = 0; ox < out_w; ox++, output += out_c) {
                const int32_t ix0 = ox * stride_w - pad_left;
                const int32_t iy0 = oy * stride_h - pad_top;
#if TG_HAS_MVE
                const int32_t narrow = fw * in_c <= 16 && dilation_w == 1;
                if (narrow && ix0 >= 0 && ix0 + fw <= in_w && iy0 >= 0 && iy0 + (fh - 1) * dilation_h < in_h) {
                    /* every window row inside: one load and store each (row_stride 16: the predicated load's
                     * zeros keep the gaps at 0) */
                    const mve_pred16_t pr = vctp8q((uint32_t)(fw * in_c));
                    const int8_t *src = image + (iy0 * in_w + ix0) * in_c;
                    if (row_stride == 16) {
                        for (int32_t ky = 0; ky < fh; ky++, src += dilation_h * in_w * in_c) {
                            vstrbq_s8(col + ky * 16, vldrbq_z_s8(src, pr));
                        }
                    } else {
                        for (int32_t ky = 0; ky < fh; ky++, src += dilation_h * in_w * in_c) {
                            vstrbq_p_s8(col + ky * row_stride, vldrbq_z_s8(src, pr), pr);
                        }
                    }
                } else if (narrow) { /* rows cut by the padding: input_zp under the row's predicate, then the inside */
                    const int32_t kx0 = ix0 < 0 ? TG_MIN(-ix0, fw) : 0;
                    const int32_t kx1 = TG_MAX(kx0, TG_MIN(fw, in_w - ix0));
                    const mve_pred16_t pr = vctp8q((uint32_t)(fw * in_c)), pv = vctp8q((uint32_t)((kx1 - kx0) * in_c));
                    const int8x16_t zv = vdupq_n_s8((int8_t)input_zp);
                    for (int32_t ky = 0; ky < fh; ky++) {
                        const int32_t iy = iy0 + ky * dilation_h;
                        int8_t *dst = col + ky * row_stride;
                        vstrbq_p_s8(dst, zv, pr);
                        if (iy >= 0 && iy < in_h) {
                            vstrbq_p_s8(dst + kx0 * in_c, vldrbq_z_s8(image + (iy * in_w + ix0 + kx0) * in_c, pv), pv);
                        }
                    }
                } else
#endif
                for (int32_t ky = 0; ky < fh; ky++) {
                    const int32_t iy = iy0 + ky * dilation_h;
                    const int8_t *row = iy >= 0 && iy < in_h ? image + iy * in_w * in_c : NULL;
                    gather_row(col + ky * row_stride, row, ix0, dilation_w, in_w, in_c, fw, (int8_t)input_zp);
                }
                tg_gemm_s8_mve(col, fh * row_stride, filter, out_c, rq, left_shift, output_offset, act_min, act_max,
                               output);
            }
        }
    }
    return TG_OK;
}
