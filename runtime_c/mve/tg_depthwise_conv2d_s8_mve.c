/* tinygen runtime: Helium (MVE) int8 DEPTHWISE_CONV_2D (see tg_depthwise_conv2d_s8_mve.h). */
#include "tg_depthwise_conv2d_s8_mve.h"

#include "tg_mve.h"

/* [first, end) of the taps t with 0 <= start + t * step < size, t < taps */
static void tap_range(int32_t start, int32_t step, int32_t size, int32_t taps, int32_t *first, int32_t *end)
{
    const int32_t t0 = start < 0 ? (-start + step - 1) / step : 0;
    const int32_t t1 = (size - start + step - 1) / step;
    *first = TG_MIN(t0, taps);
    *end = TG_MAX(*first, TG_MIN(t1, taps));
}

int tg_depthwise_conv2d_s8_mve(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *rq, int32_t batches, int32_t in_h, int32_t in_w, int32_t c,
    const int8_t *input, int32_t fh, int32_t fw, const int8_t *filter, int32_t out_h, int32_t out_w,
    int8_t *output)
{
    const int32_t xstep = dilation_w * c;
    const int32_t ystep = dilation_h * in_w * c;
    const int32_t taps = fh * fw;
    for (int32_t b = 0; b < batches; b++) {
        const int8_t *image = input + b * in_h * in_w * c;
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t iy0 = oy * stride_h - pad_top;
            int32_t ky0 = 0, ky1 = fh;
            if (iy0 < 0 || iy0 + (fh - 1) * dilation_h >= in_h) {
                tap_range(iy0, dilation_h, in_h, fh, &ky0, &ky1);
            }
            for (int32_t ox = 0; ox < out_w; ox++, output += c) {
                const int32_t ix0 = ox * stride_w - pad_left;
                int32_t kx0 = 0, kx1 = fw;
                if (ix0 < 0 || ix0 + (fw - 1) * dilation_w >= in_w) { /* else every tap inside the image */
                    tap_range(ix0, dilation_w, in_w, fw, &kx0, &kx1);
                }
                const int8_t *x0 = image + ((iy0 + ky0 * dilation_h) * in_w + ix0 + kx0 * dilation_w) * c;
                const int8_t *w0 = filter + (ky0 * fw + kx0) * 8;
                const int32_t *q = rq;
                for (int32_t ch = 0; ch < c; ch += 8, q += 2 * TG_MVE_RQ_WORDS, w0 += taps * 8) {
#if TG_HAS_MVE
                    int32x4_t even = vldrwq_s32(q), odd = vldrwq_s32(q + TG_MVE_RQ_WORDS);
                    const int8_t *xr = x0 + ch, *wr = w0;
                    for (int32_t ky = ky0; ky < ky1; ky++, xr += ystep, wr += fw * 8) {
                        const int8_t *xp = xr, *wp = wr;
                        for (int32_t n = kx1 - kx0; n > 0; n--, xp += xstep, wp += 8) {
                            const int16x8_t xv = vaddq_n_s16(vldrbq_s16(xp), (int16_t)input_offset);
                            const int16x8_t wv = vldrbq_s16(wp);
                            even = vaddq_s32(even, vmullbq_int_s16(xv, wv));
                            odd = vaddq_s32(odd, vmulltq_int_s16(xv, wv));
                        }
                    }
                    even = tg_mve_rq4(even, q + 4, 1, output_offset, act_min, act_max);
                    odd = tg_mve_rq4(odd, q + 4 + TG_MVE_RQ_WORDS, 1, output_offset, act_min, act_max);
                    vstrbq_s16(output + ch, vmovntq_s32(vmovnbq_s32(vdupq_n_s16(0), even), odd));
#else
                    for (int32_t i = 0; i < 8; i++) {
                        const int32_t *qi = q + (i % 2) * TG_MVE_RQ_WORDS + i / 2; /* the lane's bias */
                        int32_t acc = qi[0];
                        for (int32_t ky = ky0; ky < ky1; ky++) {
                            const int8_t *xp = x0 + (ky - ky0) * ystep + ch + i;
                            const int8_t *wp = w0 + (ky - ky0) * fw * 8 + i;
                            for (int32_t kx = kx0; kx < kx1; kx++, xp += xstep, wp += 8) {
                                acc += (*xp + input_offset) * *wp;
                            }
                        }
                        output[ch + i] = (int8_t)tg_mve_rq1(acc, qi + 4, output_offset, act_min, act_max);
                    }
#endif
                }
            }
        }
    }
    return TG_OK;
}
