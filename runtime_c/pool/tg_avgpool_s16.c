#include "tg_avgpool_s16.h"

/* One pooled value per (window, channel); is_max selects max over average. */
static int tg_pool_s16(int is_max, int32_t stride_h, int32_t stride_w, int32_t pad_top,
                       int32_t pad_left, int32_t filter_h, int32_t filter_w, int32_t act_min,
                       int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w,
                       int32_t channels, const int16_t *input, int32_t out_h, int32_t out_w,
                       int16_t *output)
{
    for (int32_t n = 0; n < batches; ++n) {
        const int16_t *image = input + (ptrdiff_t)n * in_h * in_w * channels;
        for (int32_t oy = 0; oy < out_h; ++oy) {
            const int32_t y0 = oy * stride_h - pad_top;
            const int32_t ys = TG_MAX(y0, 0);
            const int32_t ye = TG_MIN(y0 + filter_h, in_h);
            for (int32_t ox = 0; ox < out_w; ++ox) {
                const int32_t x0 = ox * stride_w - pad_left;
                const int32_t xs = TG_MAX(x0, 0);
                const int32_t xe = TG_MIN(x0 + filter_w, in_w);
                const int32_t count = (ye - ys) * (xe - xs);
                for (int32_t c = 0; c < channels; ++c) {
                    int32_t acc = is_max ? INT16_MIN : 0;
                    for (int32_t y = ys; y < ye; ++y) {
                        for (int32_t x = xs; x < xe; ++x) {
                            const int32_t v = image[((ptrdiff_t)y * in_w + x) * channels + c];
                            acc = is_max ? TG_MAX(acc, v) : acc + v;
                        }
                    }
                    if (!is_max) {
                        acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    }
                    *output++ = (int16_t)tg_clamp(acc, act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}

int tg_avgpool_s16(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
                   int32_t filter_h, int32_t filter_w, int32_t act_min, int32_t act_max,
                   int32_t batches, int32_t in_h, int32_t in_w, int32_t channels,
                   const int16_t *input, int32_t out_h, int32_t out_w, int16_t *output)
{
    return tg_pool_s16(0, stride_h, stride_w, pad_top, pad_left, filter_h, filter_w, act_min,
                       act_max, batches, in_h, in_w, channels, input, out_h, out_w, output);
}

int tg_maxpool_s16(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
                   int32_t filter_h, int32_t filter_w, int32_t act_min, int32_t act_max,
                   int32_t batches, int32_t in_h, int32_t in_w, int32_t channels,
                   const int16_t *input, int32_t out_h, int32_t out_w, int16_t *output)
{
    return tg_pool_s16(1, stride_h, stride_w, pad_top, pad_left, filter_h, filter_w, act_min,
                       act_max, batches, in_h, in_w, channels, input, out_h, out_w, output);
}
