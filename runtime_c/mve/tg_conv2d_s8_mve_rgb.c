/* tinygen runtime: Helium (MVE) int8 CONV_2D for narrow windows (see tg_conv2d_s8_mve_rgb.h). */
#include "tg_conv2d_s8_mve_rgb.h"

#include "tg_mve.h"

#if TG_HAS_MVE

/* 4 scalar accumulators as the lanes of one vector */
TG_MVE_INLINE int32x4_t lanes4(int32_t a0, int32_t a1, int32_t a2, int32_t a3)
{
    int32x4_t v = vdupq_n_s32(a0);
    v = vsetq_lane_s32(a1, v, 1);
    v = vsetq_lane_s32(a2, v, 2);
    return vsetq_lane_s32(a3, v, 3);
}

/* a0..a3 += x . (the next window row of filter channels 0..3, at w); w moves past the 4 rows */
#define TG_RGB_ACC(X)                                                                                             \
    do {                                                                                                          \
        a0 = vmladavaq_s8(a0, X, vld1q_s8(w));                                                                    \
        a1 = vmladavaq_s8(a1, X, vld1q_s8(w + 16));                                                               \
        a2 = vmladavaq_s8(a2, X, vld1q_s8(w + 32));                                                               \
        a3 = vmladavaq_s8(a3, X, vld1q_s8(w + 48));                                                               \
        w += 64;                                                                                                  \
    } while (0)

/* One pixel, window rows x0..x2 (the first fh), against every block of 4 filter channels (w: per block, fh
 * window rows of 4 x 16 bytes); its out_c outputs at out. fh and left are constants in each caller. */
TG_MVE_INLINE void pixel(int8x16_t x0, int8x16_t x1, int8x16_t x2, int32_t fh, const int8_t *w, const int32_t *rq,
    int left, int32_t out_c, int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    for (int32_t rest = out_c; rest > 0; rest -= 4, rq += TG_MVE_RQ_WORDS, out += 4) {
        int32_t a0 = vmladavq_s8(x0, vld1q_s8(w));
        int32_t a1 = vmladavq_s8(x0, vld1q_s8(w + 16));
        int32_t a2 = vmladavq_s8(x0, vld1q_s8(w + 32));
        int32_t a3 = vmladavq_s8(x0, vld1q_s8(w + 48));
        w += 64;
        if (fh > 1) {
            TG_RGB_ACC(x1);
        }
        if (fh > 2) {
            TG_RGB_ACC(x2);
        }
        const int32x4_t acc = vaddq_s32(lanes4(a0, a1, a2, a3), vldrwq_s32(rq));
        const int32x4_t v = tg_mve_rq4(acc, rq + 4, left, output_offset, act_min, act_max);
        if (rest >= 4) {
            vstrbq_s32(out, v);
        } else {
            vstrbq_p_s32(out, v, vctp32q((uint32_t)rest));
        }
    }
}

/* One pixel whose window is cut by the padding: its rows gathered into a stack buffer, input_zp for the taps
 * outside the image, then pixel(). */
static void border_pixel(const int8_t *image, int32_t iy0, int32_t ix0, int32_t dilation_h, int32_t in_h,
    int32_t in_w, int32_t in_c, int32_t fh, int32_t fw, int8_t zp, const int8_t *w, const int32_t *rq, int left,
    int32_t out_c, int32_t output_offset, int32_t act_min, int32_t act_max, int8_t *out)
{
    const int32_t kx0 = ix0 < 0 ? TG_MIN(-ix0, fw) : 0;
    const int32_t kx1 = TG_MAX(kx0, TG_MIN(fw, in_w - ix0));
    const mve_pred16_t pv = vctp8q((uint32_t)((kx1 - kx0) * in_c));
    int8_t win[48];
    for (int32_t ky = 0; ky < fh; ky++) {
        const int32_t iy = iy0 + ky * dilation_h;
        vst1q_s8(win + 16 * ky, vdupq_n_s8(zp));
        if (iy >= 0 && iy < in_h) {
            vstrbq_p_s8(win + 16 * ky + kx0 * in_c, vldrbq_z_s8(image + (iy * in_w + ix0 + kx0) * in_c, pv), pv);
        }
    }
    const int8x16_t x0 = vld1q_s8(win);
    const int8x16_t x1 = fh > 1 ? vld1q_s8(win + 16) : x0;
    const int8x16_t x2 = fh > 2 ? vld1q_s8(win + 32) : x0;
    if (fh == 3) {
        pixel(x0, x1, x2, 3, w, rq, left, out_c, output_offset, act_min, act_max, out);
    } else if (fh == 2) {
        pixel(x0, x1, x2, 2, w, rq, left, out_c, output_offset, act_min, act_max, out);
    } else {
        pixel(x0, x1, x2, 1, w, rq, left, out_c, output_offset, act_min, act_max, out);
    }
}

/* the whole layer for one batch, fh and left constants */
TG_MVE_INLINE void image_rows(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t pad_top,
    int32_t pad_left, int32_t input_zp, int32_t output_offset, int32_t act_min, int32_t act_max, int32_t in_h,
    int32_t in_w, int32_t in_c, const int8_t *image, int32_t fh, int32_t fw, const int8_t *filter,
    const int32_t *rq, int32_t out_h, int32_t out_w, int32_t out_c, int left, int8_t *out)
{
    const mve_pred16_t pr = vctp8q((uint32_t)(fw * in_c));
    const int32_t row_bytes = in_w * in_c, step = dilation_h * row_bytes, col_step = stride_w * in_c;
    int32_t ox_lo = 0, ox_hi = out_w; /* the columns whose window rows are inside the image */
    while (ox_lo < out_w && ox_lo * stride_w - pad_left < 0) {
        ox_lo++;
    }
    while (ox_hi > ox_lo && (ox_hi - 1) * stride_w - pad_left + fw > in_w) {
        ox_hi--;
    }
    for (int32_t oy = 0; oy < out_h; oy++, out += out_w * out_c) {
        const int32_t iy0 = oy * stride_h - pad_top;
        const int32_t lo = iy0 >= 0 && iy0 + (fh - 1) * dilation_h < in_h ? ox_lo : out_w;
        for (int32_t ox = 0; ox < out_w; ox++) {
            if (ox == lo) { /* every window row inside the image */
                const int8_t *src = image + iy0 * row_bytes + (ox * stride_w - pad_left) * in_c;
                for (; ox < ox_hi; ox++, src += col_step) {
                    const int8x16_t x0 = vldrbq_z_s8(src, pr);
                    const int8x16_t x1 = fh > 1 ? vldrbq_z_s8(src + step, pr) : x0;
                    const int8x16_t x2 = fh > 2 ? vldrbq_z_s8(src + 2 * step, pr) : x0;
                    pixel(x0, x1, x2, fh, filter, rq, left, out_c, output_offset, act_min, act_max, out + ox * out_c);
                }
                if (ox == out_w) {
                    break;
                }
            }
            border_pixel(image, iy0, ox * stride_w - pad_left, dilation_h, in_h, in_w, in_c, fh, fw,
                         (int8_t)input_zp, filter, rq, left, out_c, output_offset, act_min, act_max, out + ox * out_c);
        }
    }
}

/* image_rows with fh and left as constants */
#define TG_RGB_CASE(FH, LEFT)                                                                                       \
    image_rows(stride_h, stride_w, dilation_h, pad_top, pad_left, input_zp, output_offset, act_min, act_max, in_h, \
               in_w, in_c, image, FH, fw, filter, rq, out_h, out_w, out_c, LEFT, out)

int tg_conv2d_s8_mve_rgb(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t pad_top,
    int32_t pad_left, int32_t input_zp, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input, int32_t fh, int32_t fw,
    const int8_t *filter, const int32_t *rq, int32_t out_h, int32_t out_w, int32_t out_c, int32_t left_shift,
    int8_t *output)
{
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *image = input + b * in_h * in_w * in_c;
        int8_t *out = output + b * out_h * out_w * out_c;
        if (fh == 3) {
            if (left_shift) {
                TG_RGB_CASE(3, 1);
            } else {
                TG_RGB_CASE(3, 0);
            }
        } else if (fh == 2) {
            TG_RGB_CASE(2, left_shift != 0);
        } else {
            TG_RGB_CASE(1, left_shift != 0);
        }
    }
    return TG_OK;
}

#else

int tg_conv2d_s8_mve_rgb(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t pad_top,
    int32_t pad_left, int32_t input_zp, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input, int32_t fh, int32_t fw,
    const int8_t *filter, const int32_t *rq, int32_t out_h, int32_t out_w, int32_t out_c, int32_t left_shift,
    int8_t *output)
{
    (void)left_shift; /* the plain-C requantizer shifts by the record's total */
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *image = input + b * in_h * in_w * in_c;
        for (int32_t oy = 0; oy < out_h; oy++) {
            for (int32_t ox = 0; ox < out_w; ox++, output += out_c) {
                for (int32_t c = 0; c < out_c; c++) {
                    const int32_t *q = rq + (c / 4) * TG_MVE_RQ_WORDS;
                    const int8_t *w = filter + (c / 4) * 64 * fh + (c % 4) * 16;
                    uint32_t acc = (uint32_t)q[c % 4];
                    for (int32_t ky = 0; ky < fh; ky++, w += 64) {
                        const int32_t iy = oy * stride_h - pad_top + ky * dilation_h;
                        for (int32_t i = 0; i < fw * in_c; i++) {
                            const int32_t ix = ox * stride_w - pad_left + i / in_c;
                            const int32_t v = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w
                                ? image[(iy * in_w + ix) * in_c + i % in_c] : input_zp;
                            acc += (uint32_t)(v * w[i]);
                        }
                    }
                    output[c] = (int8_t)tg_mve_rq1((int32_t)acc, q + 4 + c % 4, output_offset, act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}

#endif
