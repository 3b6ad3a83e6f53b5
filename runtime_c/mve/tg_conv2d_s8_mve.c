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

int tg_conv2d_s8_mve(int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_zp, int32_t output_offset,
    int32_t act_min, int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
    const int8_t *input, int32_t fh, int32_t fw, const int8_t *filter, const int32_t *rq, int32_t out_h,
    int32_t out_w, int32_t out_c, int32_t left_shift, int8_t *output)
{
    const int32_t k = fh * fw * in_c;
    const int32_t pointwise = fh == 1 && fw == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0
        && pad_left == 0 && out_h == in_h && out_w == in_w;
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *image = input + b * in_h * in_w * in_c;
        if (pointwise) {
            for (int32_t p = 0; p < in_h * in_w; p++, output += out_c) {
                tg_gemm_s8_mve(image + p * in_c, k, filter, out_c, rq, left_shift, output_offset, act_min, act_max, output);
            }
            continue;
        }
        for (int32_t oy = 0; oy < out_h; oy++) {
            for (int32_t ox = 0; ox < out_w; ox++, output += out_c) {
                const int32_t ix0 = ox * stride_w - pad_left;
                int8_t col[TG_CONV_MVE_COL_MAX];
                for (int32_t ky = 0; ky < fh; ky++) {
                    const int32_t iy = oy * stride_h - pad_top + ky * dilation_h;
                    const int8_t *row = iy >= 0 && iy < in_h ? image + iy * in_w * in_c : NULL;
                    gather_row(col + ky * fw * in_c, row, ix0, dilation_w, in_w, in_c, fw, (int8_t)input_zp);
                }
                tg_gemm_s8_mve(col, k, filter, out_c, rq, left_shift, output_offset, act_min, act_max, output);
            }
        }
    }
    return TG_OK;
}
