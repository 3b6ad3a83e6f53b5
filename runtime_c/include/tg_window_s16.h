/* tinygen runtime: the input window of one output pixel of a 16x8 convolution (int16 activations), for
 * tg_conv2d_s16 and tg_conv2d_s16_fast.
 *
 *   tg_conv_s16_tap    the input pixel of tap (fy, fx) of output pixel p, from channel `first` of image on
 *   tg_conv_s16_patch  the whole window (filter_h * filter_w * in_c values in filter order, ungrouped) as one
 *                      contiguous run: the pixel itself for a 1x1 filter inside the image, else gathered into
 *                      patch with zeros for the taps in the padding (they multiply to 0, as skipped taps do)
 */
#ifndef TG_WINDOW_S16_H
#define TG_WINDOW_S16_H

#include "tg_window.h"

#include <string.h>

static inline const int16_t *tg_conv_s16_tap(const tg_conv_pixel *p, const int16_t *image, int32_t in_w,
                                             int32_t in_c, int32_t dilation_h, int32_t dilation_w, int32_t fy,
                                             int32_t fx)
{
    return image + ((ptrdiff_t)(p->in_y + dilation_h * fy) * in_w + (p->in_x + dilation_w * fx)) * in_c;
}

static inline const int16_t *tg_conv_s16_patch(const tg_conv_pixel *p, const int16_t *image, int32_t in_w,
                                               int32_t in_c, int32_t dilation_h, int32_t dilation_w,
                                               int32_t filter_h, int32_t filter_w, int16_t *patch)
{
    if (filter_h == 1 && filter_w == 1 && p->fy.end > p->fy.first && p->fx.end > p->fx.first) {
        return tg_conv_s16_tap(p, image, in_w, in_c, dilation_h, dilation_w, 0, 0);
    }
    const size_t tap_bytes = (size_t)in_c * sizeof(int16_t);
    int16_t *dst = patch;
    for (int32_t fy = 0; fy < filter_h; ++fy) {
        const int32_t row_inside = fy >= p->fy.first && fy < p->fy.end;
        if (row_inside && dilation_w == 1) {
            const int32_t before = p->fx.first * in_c;
            const int32_t inside = (p->fx.end - p->fx.first) * in_c;
            memset(dst, 0, (size_t)before * sizeof(int16_t));
            memcpy(dst + before, tg_conv_s16_tap(p, image, in_w, in_c, dilation_h, 1, fy, p->fx.first),
                   (size_t)inside * sizeof(int16_t));
            memset(dst + before + inside, 0, (size_t)(filter_w * in_c - before - inside) * sizeof(int16_t));
            dst += filter_w * in_c;
            continue;
        }
        for (int32_t fx = 0; fx < filter_w; ++fx, dst += in_c) {
            if (row_inside && fx >= p->fx.first && fx < p->fx.end) {
                memcpy(dst, tg_conv_s16_tap(p, image, in_w, in_c, dilation_h, dilation_w, fy, fx), tap_bytes);
            } else {
                memset(dst, 0, tap_bytes);
            }
        }
    }
    return patch;
}

#endif /* TG_WINDOW_S16_H */
