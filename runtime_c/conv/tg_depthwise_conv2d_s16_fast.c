/* tinygen runtime: fast 16x8 depthwise 2-D convolution; contract in tg_depthwise_conv2d_s16_fast.h. */
#include "tg_depthwise_conv2d_s16_fast.h"

#include "tg_s16_fast.h"

int tg_depthwise_conv2d_s16_fast(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t act_min, int32_t act_max, const int32_t *red, const int64_t *bias,
    int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int16_t *input, int32_t filter_h,
    int32_t filter_w, const int8_t *filter, int32_t out_h, int32_t out_w, int16_t *output)
{
    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, batches, in_h, in_w, out_h, out_w};
    for (tg_conv_pixel p = tg_conv_first(&g); p.b < batches; tg_conv_next(&g, &p)) {
        const int16_t *image = input + (ptrdiff_t)p.b * in_h * in_w * in_c;
        int32_t c = 0;
#if TG_HAS_DSP
        for (; c + 4 <= in_c; c += 4, output += 4) {
            int32_t a[4];
            tg_dw_s16_sums4(&p, image, in_w, in_c, dilation_h, dilation_w, filter_w, filter, c, a);
            for (int32_t j = 0; j < 4; ++j) {
                output[j] = tg_s16_out_fast(a[j], red[c + j], bias[c + j], act_min, act_max);
            }
        }
#endif
        for (; c < in_c; ++c) {
            int32_t acc = 0;
            for (int32_t fy = p.fy.first; fy < p.fy.end; ++fy) {
                const int16_t *row = image + (ptrdiff_t)(p.in_y + fy * dilation_h) * in_w * in_c + c;
                const int8_t *w_row = filter + (ptrdiff_t)fy * filter_w * in_c + c;
                for (int32_t fx = p.fx.first; fx < p.fx.end; ++fx) {
                    acc += row[(ptrdiff_t)(p.in_x + fx * dilation_w) * in_c] * w_row[(ptrdiff_t)fx * in_c];
                }
            }
            *output++ = tg_s16_out_fast(acc, red[c], bias[c], act_min, act_max);
        }
    }
    return TG_OK;
}
