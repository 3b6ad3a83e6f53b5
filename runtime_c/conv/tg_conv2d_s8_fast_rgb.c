/* tinygen runtime: fast int8 3x3 convolution of 3-channel inputs; contract in tg_conv2d_s8_fast_rgb.h. */
#include "tg_conv2d_s8_fast_rgb.h"

#include "tg_gemm_s8_fast.h"

#define RGB_COLX 56 /* bytes of the 14 extended words; the border window copy follows */

int32_t tg_conv2d_s8_fast_rgb_get_buffer_size(int32_t out_c)
{
    (void)out_c;
    return TG_CONV_RGB_SCRATCH;
}

/* The window at (in_y0, in_x0) copied into win (3 rows of 12 bytes), padding taps input_zp */
static void border_window(const int8_t *in, int32_t in_h, int32_t in_w, int32_t in_y0, int32_t in_x0,
                          int8_t input_zp, int8_t *win)
{
    for (int32_t fy = 0; fy < 3; ++fy) {
        const int32_t in_y = in_y0 + fy;
        for (int32_t fx = 0; fx < 3; ++fx) {
            const int32_t in_x = in_x0 + fx;
            const int inside = in_y >= 0 && in_y < in_h && in_x >= 0 && in_x < in_w;
            for (int32_t c = 0; c < 3; ++c) {
                win[12 * fy + 3 * fx + c] = inside ? in[(in_y * in_w + in_x) * 3 + c] : input_zp;
            }
        }
    }
}

int tg_conv2d_s8_fast_rgb(int8_t *scratch, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_zp, int32_t output_offset, int32_t act_min,
    int32_t act_max, int32_t batches, int32_t in_h, int32_t in_w, const int8_t *input, int32_t filter_h,
    int32_t filter_w, const int32_t *filter, const int32_t *quant, int32_t rq_words, int32_t out_h, int32_t out_w,
    int32_t out_c, int8_t *output)
{
    if (filter_h != 3 || filter_w != 3 || dilation_h != 1 || dilation_w != 1) {
        return TG_ERROR;
    }
    uint32_t *colx = (uint32_t *)(void *)scratch;
    int8_t *win = scratch + RGB_COLX;
    const int32_t row = 3 * in_w;
    /* the output columns whose windows lie inside the input's width: x_lo <= out_x < x_hi */
    int32_t x_lo = 0, x_hi = out_w;
    while (x_lo < out_w && x_lo * stride_w - pad_left < 0) {
        ++x_lo;
    }
    while (x_hi > x_lo && (x_hi - 1) * stride_w - pad_left + 3 > in_w) {
        --x_hi;
    }
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in = input + b * in_h * row;
        int8_t *out = output + b * out_h * out_w * out_c;
        for (int32_t out_y = 0; out_y < out_h; ++out_y, out += out_w * out_c) {
            const int32_t in_y0 = out_y * stride_h - pad_top;
            const int32_t lo = in_y0 >= 0 && in_y0 + 3 <= in_h ? x_lo : out_w; /* interior run [lo, hi) */
            const int32_t hi = lo < out_w ? x_hi : out_w;
            if (hi > lo) {
                tg_gemm_s8_fast_x_rgb(colx, in + in_y0 * row + 3 * (lo * stride_w - pad_left), hi - lo,
                                      3 * stride_w, row, filter, quant, rq_words, output_offset, act_min, act_max,
                                      out_c, out + lo * out_c);
            }
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                if (out_x == lo) {
                    out_x = hi > lo ? hi : lo; /* skip the interior run */
                    if (out_x >= out_w) {
                        break;
                    }
                }
                border_window(in, in_h, in_w, in_y0, out_x * stride_w - pad_left, (int8_t)input_zp, win);
                tg_gemm_s8_fast_x_rgb(colx, win, 1, 0, 12, filter, quant, rq_words, output_offset, act_min,
                                      act_max, out_c, out + out_x * out_c);
            }
        }
    }
    return TG_OK;
}
