/* tinygen runtime: 16x8 depthwise 2-D convolution; contract in tg_depthwise_conv2d_s16.h. */
#include "tg_depthwise_conv2d_s16.h"

#include "tg_dsp_s16.h"
#include "tg_s16_fast.h"

#if TG_HAS_DSP
/* Channels c .. c + 3 (depth multiplier 1) of output pixel p, written to out (at most TG_S16_CHUNK taps) */
static void tg_dw_s16_four(const tg_conv_pixel *p, const int16_t *image, int32_t in_w, int32_t in_c,
                           int32_t dilation_h, int32_t dilation_w, int32_t filter_w, const int8_t *filter,
                           int32_t c, const tg_s16_out *o, int16_t *out)
{
    int32_t a[4];
    tg_dw_s16_sums4(p, image, in_w, in_c, dilation_h, dilation_w, filter_w, filter, c, a);
    for (int32_t j = 0; j < 4; ++j) {
        out[j] = tg_finish_s16_dsp(a[j], o->bias, c + j, o->mult, o->shift, o->per_channel, o->act_min, o->act_max);
    }
}
#endif

int tg_depthwise_conv2d_s16(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, int32_t depth_multiplier, int32_t act_min, int32_t act_max,
    const int32_t *mult, const int32_t *shift, int32_t per_channel, int32_t batches, int32_t in_h,
    int32_t in_w, int32_t in_c, const int16_t *input, int32_t filter_h, int32_t filter_w,
    const int8_t *filter, const int64_t *bias, int32_t out_h, int32_t out_w, int16_t *output)
{
    const int32_t out_c = in_c * depth_multiplier;
#if TG_HAS_DSP
    const tg_s16_out o = {bias, mult, shift, per_channel, act_min, act_max};
    const int32_t four = depth_multiplier == 1 && filter_h * filter_w <= TG_S16_CHUNK ? out_c & ~3 : 0;
#endif
    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, batches, in_h, in_w, out_h, out_w};
    for (tg_conv_pixel p = tg_conv_first(&g); p.b < batches; tg_conv_next(&g, &p)) {
        const int16_t *image = input + (ptrdiff_t)p.b * in_h * in_w * in_c;
        int32_t oc = 0;
#if TG_HAS_DSP
        for (; oc < four; oc += 4, output += 4) {
            tg_dw_s16_four(&p, image, in_w, in_c, dilation_h, dilation_w, filter_w, filter, oc, &o, output);
        }
#endif
        for (; oc < out_c; ++oc) {
            const int32_t ic = oc / depth_multiplier;
            int64_t acc = 0;
            for (int32_t fy = p.fy.first; fy < p.fy.end; ++fy) {
                const int16_t *row = image + (ptrdiff_t)(p.in_y + fy * dilation_h) * in_w * in_c + ic;
                const int8_t *w_row = filter + (ptrdiff_t)fy * filter_w * out_c + oc;
                for (int32_t fx = p.fx.first; fx < p.fx.end; ++fx) {
                    acc += (int64_t)row[(ptrdiff_t)(p.in_x + fx * dilation_w) * in_c] * w_row[(ptrdiff_t)fx * out_c];
                }
            }
            *output++ = tg_finish_s16(acc, bias, oc, mult, shift, per_channel, act_min, act_max);
        }
    }
    return TG_OK;
}
