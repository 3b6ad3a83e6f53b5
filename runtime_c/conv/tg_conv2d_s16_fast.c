/* tinygen runtime: fast 16x8 2-D convolution; contract in tg_conv2d_s16_fast.h. */
#include "tg_conv2d_s16_fast.h"

#include "tg_s16_fast.h"
#include "tg_window_s16.h"

int tg_conv2d_s16_fast(int8_t *scratch_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t act_min, int32_t act_max, const int32_t *red,
    const int64_t *bias, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int16_t *input,
    int32_t filter_h, int32_t filter_w, const int32_t *wpack, int32_t out_h, int32_t out_w, int32_t out_c,
    int16_t *output)
{
    int16_t *scratch = (int16_t *)(void *)scratch_bytes;
    const int32_t k = filter_h * filter_w * in_c;
    const int32_t groups = (k + 3) >> 2;
    if (scratch != NULL) {
        for (int32_t i = k; i < 4 * groups; ++i) {
            scratch[i] = 0; /* the gather fills [0, k) only; the packed rows are zero there anyway */
        }
    }
    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, batches, in_h, in_w, out_h, out_w};
    for (tg_conv_pixel p = tg_conv_first(&g); p.b < batches; tg_conv_next(&g, &p)) {
        const int16_t *image = input + (ptrdiff_t)p.b * in_h * in_w * in_c;
        const int16_t *x = scratch == NULL
                               ? tg_conv_s16_tap(&p, image, in_w, in_c, dilation_h, dilation_w, 0, 0)
                               : tg_conv_s16_patch(&p, image, in_w, in_c, dilation_h, dilation_w, filter_h,
                                                   filter_w, scratch);
        if (x != scratch && scratch != NULL) {
            /* a 1x1 window read in place: copied, so the last group of four stops inside scratch */
            memcpy(scratch, x, (size_t)k * sizeof(int16_t));
            x = scratch;
        }
        int16_t *out_px = output + (ptrdiff_t)p.pixel * out_c;
        const int32_t *w = wpack;
        for (int32_t oc = 0; oc < out_c; oc += 4, w += 4 * groups) {
            int32_t a[4] = {0, 0, 0, 0};
            tg_dot4_s16_packed(x, w, groups, a);
            const int32_t n = out_c - oc < 4 ? out_c - oc : 4;
            for (int32_t j = 0; j < n; ++j) {
                out_px[oc + j] = tg_s16_out_fast(a[j], red[oc + j], bias[oc + j], act_min, act_max);
            }
        }
    }
    return TG_OK;
}
