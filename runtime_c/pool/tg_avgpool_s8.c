#include "tg_avgpool_s8.h"

/* Window [y0, y1) x [x0, x1) of output pixel (out_y, out_x), clipped to the input. */
typedef struct {
    int32_t y0, y1, x0, x1;
} tg_window;

static tg_window tg_pool_window(int32_t out_y, int32_t out_x, int32_t stride_h, int32_t stride_w,
                                int32_t pad_top, int32_t pad_left, int32_t filter_h,
                                int32_t filter_w, int32_t in_h, int32_t in_w)
{
    const int32_t in_y_origin = out_y * stride_h - pad_top;
    const int32_t in_x_origin = out_x * stride_w - pad_left;
    tg_window w;
    w.y0 = TG_MAX(in_y_origin, 0);
    w.y1 = TG_MIN(in_y_origin + filter_h, in_h);
    w.x0 = TG_MAX(in_x_origin, 0);
    w.x1 = TG_MIN(in_x_origin + filter_w, in_w);
    return w;
}

int tg_avgpool_s8(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
                  int32_t filter_h, int32_t filter_w, int32_t act_min, int32_t act_max,
                  int32_t batches, int32_t in_h, int32_t in_w, int32_t channels,
                  const int8_t *input, int32_t out_h, int32_t out_w, int8_t *output)
{
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)channels;
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                const tg_window w = tg_pool_window(out_y, out_x, stride_h, stride_w, pad_top,
                                                   pad_left, filter_h, filter_w, in_h, in_w);
                const int32_t count = (w.y1 - w.y0) * (w.x1 - w.x0);
                if (w.y1 <= w.y0 || w.x1 <= w.x0) {
                    return TG_ERROR;
                }
                for (int32_t c = 0; c < channels; ++c) {
                    int32_t acc = 0;
                    for (int32_t y = w.y0; y < w.y1; ++y) {
                        for (int32_t x = w.x0; x < w.x1; ++x) {
                            acc += in_b[((size_t)y * (size_t)in_w + (size_t)x) * (size_t)channels
                                        + (size_t)c];
                        }
                    }
                    /* Integer division truncates toward zero: +-count/2 makes it round half away. */
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                    *output++ = (int8_t)tg_clamp(acc, act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}

int tg_maxpool_s8(int32_t stride_h, int32_t stride_w, int32_t pad_top, int32_t pad_left,
                  int32_t filter_h, int32_t filter_w, int32_t act_min, int32_t act_max,
                  int32_t batches, int32_t in_h, int32_t in_w, int32_t channels,
                  const int8_t *input, int32_t out_h, int32_t out_w, int8_t *output)
{
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)in_h * (size_t)in_w * (size_t)channels;
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                const tg_window w = tg_pool_window(out_y, out_x, stride_h, stride_w, pad_top,
                                                   pad_left, filter_h, filter_w, in_h, in_w);
                for (int32_t c = 0; c < channels; ++c) {
                    int32_t max = INT8_MIN; /* an empty window gives the lowest value, as TFLM */
                    for (int32_t y = w.y0; y < w.y1; ++y) {
                        for (int32_t x = w.x0; x < w.x1; ++x) {
                            const int32_t v = in_b[((size_t)y * (size_t)in_w + (size_t)x)
                                                   * (size_t)channels + (size_t)c];
                            max = TG_MAX(max, v);
                        }
                    }
                    *output++ = (int8_t)tg_clamp(max, act_min, act_max);
                }
            }
        }
    }
    return TG_OK;
}
