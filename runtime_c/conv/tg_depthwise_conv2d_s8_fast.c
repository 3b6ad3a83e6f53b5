/* tinygen runtime: fast int8 depthwise 2-D convolution; contract in tg_depthwise_conv2d_s8_fast.h. */
#include "tg_depthwise_conv2d_s8_fast.h"

int tg_depthwise_conv2d_s8_fast(int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w,
    int32_t pad_top, int32_t pad_left, const int8_t *zp_px, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int32_t *quant, int32_t rq_words, int32_t batches, int32_t in_h, int32_t in_w,
    int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *filter,
    int32_t out_h, int32_t out_w, int8_t *output)
{
    const int32_t taps = filter_h * filter_w;
    const int8_t *tap[TG_DW_FAST_MAX_TAPS + 1];
    if (taps > TG_DW_FAST_MAX_TAPS) {
        return TG_ERROR;
    }
    const int32_t step = stride_w * in_c;                  /* tap advance from one output pixel to the next */
    const int32_t span_w = (filter_w - 1) * dilation_w, span_h = (filter_h - 1) * dilation_h;
    /* a 3x3 filter with the output offset folded and no lower clamp: each row's run of windows inside the
     * input in one call (tg_depthwise_s8_fast_run9, taps as offsets from the window), x_lo <= out_x < x_hi */
    const int run9 = taps == 9 && output_offset == 0 && act_min == -128;
    int32_t offs[9], x_lo = 0, x_hi = out_w;
    if (run9) {
        for (int32_t t = 0; t < 9; ++t) {
            offs[t] = ((t / filter_w) * dilation_h * in_w + (t % filter_w) * dilation_w) * in_c;
        }
    }
    while (x_lo < out_w && x_lo * stride_w - pad_left < 0) {
        ++x_lo;
    }
    while (x_hi > x_lo && (x_hi - 1) * stride_w - pad_left + span_w >= in_w) {
        --x_hi;
    }
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in = input + b * in_h * in_w * in_c;
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            const int32_t in_y0 = out_y * stride_h - pad_top;
            const int rows_in = in_y0 >= 0 && in_y0 + span_h < in_h;
            int prev_inside = 0;
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                if (run9 && rows_in && out_x == x_lo && x_hi > x_lo) {
                    tg_depthwise_s8_fast_run9(offs, in + (in_y0 * in_w + x_lo * stride_w - pad_left) * in_c, step,
                                              x_hi - x_lo, in_c, filter, quant, rq_words, act_max,
                                              output + ((b * out_h + out_y) * out_w + x_lo) * in_c);
                    out_x = x_hi - 1;
                    prev_inside = 0;
                    continue;
                }
                const int32_t in_x0 = out_x * stride_w - pad_left;
                const int inside = rows_in && in_x0 >= 0 && in_x0 + span_w < in_w;
                if (inside && prev_inside) {
                    /* this window and the last one inside the input: every tap moves by one stride */
                    for (int32_t t = 0; t < taps; ++t) {
                        tap[t] += step;
                    }
                } else {
                    int32_t t = 0;
                    for (int32_t fy = 0; fy < filter_h; ++fy) {
                        const int32_t in_y = in_y0 + fy * dilation_h;
                        const int row_in = in_y >= 0 && in_y < in_h;
                        const int8_t *row = in + in_y * in_w * in_c;
                        for (int32_t fx = 0; fx < filter_w; ++fx) {
                            const int32_t in_x = in_x0 + fx * dilation_w;
                            tap[t++] = row_in && in_x >= 0 && in_x < in_w ? row + in_x * in_c : zp_px;
                        }
                    }
                }
                prev_inside = inside;
                tap[taps] = tap[taps - 1]; /* the partner of a single tap (1x1 filter) */
                tg_depthwise_s8_fast_pixel(tap, taps, in_c, filter, quant, rq_words, output_offset, act_min,
                                           act_max, output + ((b * out_h + out_y) * out_w + out_x) * in_c);
            }
        }
    }
    return TG_OK;
}
