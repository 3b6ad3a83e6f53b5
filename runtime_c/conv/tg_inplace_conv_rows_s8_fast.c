/* tinygen runtime: in-place capable stride-1 fast int8 convolution; contract in
 * tg_inplace_conv_rows_s8_fast.h. */
#include "tg_inplace_conv_rows_s8_fast.h"

#include <string.h>

#include "tg_conv2d_s8_fast.h"
#include "tg_gemm_s8_fast.h"

/* Bytes of the column part of scratch (word aligned, the ring follows it). */
static int32_t column_bytes(int32_t in_c, int32_t filter_h, int32_t filter_w, int32_t wide)
{
    return (tg_conv2d_s8_fast_get_buffer_size(in_c, filter_h, filter_w, wide) + 3) & ~3;
}

int32_t tg_inplace_conv_rows_s8_fast_get_buffer_size(int32_t pad_top, int32_t in_w, int32_t in_c, int32_t filter_h,
    int32_t filter_w, int32_t wide)
{
    return column_bytes(in_c, filter_h, filter_w, wide) + (pad_top + 1) * in_w * in_c;
}

/* One output pixel's column from the filter rows' pointers (NULL: a padding row), in the form the
 * GEMM entry point for `wide` takes, then that entry point. */
static void pixel(int8_t *col, const int8_t *const *rows, int32_t in_x0, int32_t in_w, int32_t in_c,
                  int32_t filter_h, int32_t filter_w, int32_t dilation_w, int32_t input_zp, const int8_t *zp_px,
                  const int32_t *filter, int32_t wide, const int32_t *quant, int32_t rq_words, int32_t output_offset,
                  int32_t act_min, int32_t act_max, int32_t out_c, int8_t *out)
{
    const int32_t taps = filter_h * filter_w;
    const int32_t k = taps * in_c;
    const int row_whole = dilation_w == 1 && in_x0 >= 0 && in_x0 + filter_w <= in_w;
    if (wide == TG_GEMM_EXTEND) {
        const int32_t c4 = in_c >> 2;
        uint32_t *colx = (uint32_t *)(void *)col;
        for (int32_t fy = 0; fy < filter_h; ++fy) {
            if (rows[fy] != NULL && row_whole) {
                (void)tg_gemm_s8_extend(rows[fy] + in_x0 * in_c, filter_w * c4, 1, colx);
                colx += 2 * filter_w * c4;
                continue;
            }
            for (int32_t fx = 0; fx < filter_w; ++fx, colx += 2 * c4) {
                const int32_t in_x = in_x0 + fx * dilation_w;
                const int8_t *src = rows[fy] != NULL && in_x >= 0 && in_x < in_w ? rows[fy] + in_x * in_c : zp_px;
                (void)tg_gemm_s8_extend(src, c4, 1, colx);
            }
        }
        tg_gemm_s8_fast_x((const uint32_t *)(const void *)col, k >> 2, filter, 1, 0u, quant, rq_words,
                          output_offset, act_min, act_max, out_c, out);
        return;
    }
    if ((in_c & 3) == 0 && taps <= TG_CONV_FAST_MAX_TAPS) {
        const int8_t *tap[TG_CONV_FAST_MAX_TAPS];
        int32_t t = 0;
        for (int32_t fy = 0; fy < filter_h; ++fy) {
            for (int32_t fx = 0; fx < filter_w; ++fx) {
                const int32_t in_x = in_x0 + fx * dilation_w;
                tap[t++] = rows[fy] != NULL && in_x >= 0 && in_x < in_w ? rows[fy] + in_x * in_c : zp_px;
            }
        }
        tg_gemm_s8_fast_taps(tap, t, in_c >> 2, filter, wide, quant, rq_words, output_offset, act_min, act_max,
                             out_c, out);
        return;
    }
    /* im2col: the raw window, padding taps at the input zero point, zeros up to a multiple of 4 */
    int8_t *s = col;
    for (int32_t fy = 0; fy < filter_h; ++fy) {
        for (int32_t fx = 0; fx < filter_w; ++fx, s += in_c) {
            const int32_t in_x = in_x0 + fx * dilation_w;
            if (rows[fy] != NULL && in_x >= 0 && in_x < in_w) {
                memcpy(s, rows[fy] + in_x * in_c, (size_t)in_c);
            } else {
                memset(s, (int)(int8_t)input_zp, (size_t)in_c);
            }
        }
    }
    const int32_t k_pad = (k + 3) & ~3;
    memset(s, 0, (size_t)(k_pad - k));
    tg_gemm_s8_fast(col, k_pad >> 2, filter, wide, quant, rq_words, output_offset, act_min, act_max, out_c, out);
}

int tg_inplace_conv_rows_s8_fast(int8_t *scratch, int32_t dilation_h, int32_t dilation_w, int32_t pad_top,
    int32_t pad_left, int32_t input_zp, const int8_t *zp_px, int32_t output_offset, int32_t act_min,
    int32_t act_max, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h,
    int32_t filter_w, const int32_t *filter, int32_t wide, const int32_t *quant, int32_t rq_words,
    int32_t out_c, int8_t *output)
{
    const int8_t *rows[TG_CONV_FAST_MAX_TAPS];
    if (scratch == NULL || in_h < 0 || in_w < 0 || in_c <= 0 || out_c <= 0 || out_c > in_c || pad_top < 0
        || filter_h <= 0 || filter_w <= 0 || filter_h > TG_CONV_FAST_MAX_TAPS) {
        return TG_ERROR;
    }
    /* An extended layer whose channels are not a multiple of 4 takes the raw window (its weights are
     * packed as for wide = 1, which tg_gemm_s8_fast reads from bytes); the scratch keeps its layout. */
    const int32_t gemm_wide = wide == TG_GEMM_EXTEND && (in_c & 3) != 0 ? 1 : wide;
    int8_t *col = scratch;
    int8_t *ring = scratch + column_bytes(in_c, filter_h, filter_w, wide);
    const int32_t ring_rows = pad_top + 1;
    const int32_t row_bytes = in_w * in_c;
    for (int32_t y = 0; y < in_h; ++y) {
        memcpy(ring + (y % ring_rows) * row_bytes, input + y * row_bytes, (size_t)row_bytes);
        for (int32_t fy = 0; fy < filter_h; ++fy) {
            const int32_t in_y = y - pad_top + dilation_h * fy;
            rows[fy] = in_y < 0 || in_y >= in_h ? NULL
                       : in_y <= y              ? ring + (in_y % ring_rows) * row_bytes
                                                : input + in_y * row_bytes;
        }
        for (int32_t out_x = 0; out_x < in_w; ++out_x) {
            pixel(col, rows, out_x - pad_left, in_w, in_c, filter_h, filter_w, dilation_w, input_zp, zp_px, filter,
                  gemm_wide, quant, rq_words, output_offset, act_min, act_max, out_c, output + (y * in_w + out_x) * out_c);
        }
    }
    return TG_OK;
}
