/* tinygen runtime: CONV_2D with low-bit weights; contract and row formats in tg_lowbit.h. */
#include "tg_lowbit_core.h"
#include "tg_window.h"

/* Four rows at once (w[r] + i): acc[r] += sum over i < len of w[r][i] * (x[i] + input_offset).
 * Each 4 inputs are loaded and offset once for all four rows. */
static inline void dot4(const int8_t *x, const int8_t *const w[4], int32_t len, int32_t input_offset, int32_t acc[4])
{
    const uint32_t off2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
    const int8_t *w0 = w[0];
    const int8_t *w1 = w[1];
    const int8_t *w2 = w[2];
    const int8_t *w3 = w[3];
    int32_t a0 = acc[0];
    int32_t a1 = acc[1];
    int32_t a2 = acc[2];
    int32_t a3 = acc[3];
    int32_t i = 0;
    for (; i + 4 <= len; i += 4) {
        const uint32_t xv = tg_read_u32(x + i);
        const uint32_t xa = tg_sxtab16(off2, xv);
        const uint32_t xb = tg_sxtab16_r8(off2, xv);
        uint32_t wv = tg_read_u32(w0 + i);
        a0 = tg_smlad(xb, tg_sxtb16_r8(wv), tg_smlad(xa, tg_sxtb16(wv), a0));
        wv = tg_read_u32(w1 + i);
        a1 = tg_smlad(xb, tg_sxtb16_r8(wv), tg_smlad(xa, tg_sxtb16(wv), a1));
        wv = tg_read_u32(w2 + i);
        a2 = tg_smlad(xb, tg_sxtb16_r8(wv), tg_smlad(xa, tg_sxtb16(wv), a2));
        wv = tg_read_u32(w3 + i);
        a3 = tg_smlad(xb, tg_sxtb16_r8(wv), tg_smlad(xa, tg_sxtb16(wv), a3));
    }
    for (; i < len; ++i) {
        const int32_t v = x[i] + input_offset;
        a0 += v * w0[i];
        a1 += v * w1[i];
        a2 += v * w2[i];
        a3 += v * w3[i];
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Rows oc0..oc0+3 of a block in scratch as int8 weights (TERNARY / BINARY: -1, 0, +1). */
static void decode_block(int32_t format, int32_t bits, const int8_t *codebook, const uint8_t *weights,
                         int32_t row_bytes, int32_t oc0, int32_t nb, int32_t n, int8_t *scratch)
{
    for (int32_t r = 0; r < nb; ++r) {
        const uint8_t *row = weights + (oc0 + r) * row_bytes;
        int8_t *dst = scratch + r * n;
        if (!tg_lb_decode_row(format, bits, codebook, row, n, dst)) {
            tg_lb_decode_signs(format, row, row_bytes / 2, n, dst);
        }
    }
}

/* acc[r] += the segment's contribution of block row r, for the weights starting at `start`. */
static inline void segment(const int8_t *scratch, int32_t n, int32_t nb, int32_t start, const int8_t *x,
                           int32_t len, int32_t input_offset, int32_t acc[4])
{
    /* rows past the block's end repeat its last row; their sums are dropped */
    const int8_t *w[4] = {scratch + start, scratch + TG_MIN(1, nb - 1) * n + start,
                          scratch + TG_MIN(2, nb - 1) * n + start, scratch + TG_MIN(3, nb - 1) * n + start};
    dot4(x, w, len, input_offset, acc);
}

int tg_conv2d_lb(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset,
    int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t batches, int32_t in_h,
    int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias,
    int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output)
{
    if (!tg_lb_known_format(format, bits)) {
        return TG_ERROR;
    }
    const int32_t n = filter_h * filter_w * in_c;
    /* blocks of 4 output channels decoded side by side into scratch (4 rows of n int8 weights; the
     * buffer keeps ternary's former 8 rows of room, see tg_conv2d_lb_get_buffer_size);
     * with short filter rows (filter_w * in_c < 16) the input window is gathered after them */
    const int32_t short_rows = filter_w * in_c < 16;
    int8_t *patch = scratch + (format == TG_WF_TERNARY ? 8 : 4) * n;
    const int8_t pad_value = (int8_t)(-input_offset);
    const tg_conv_geom g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left,
                            filter_h, filter_w, batches, in_h, in_w, out_h, out_w};
    for (int32_t oc0 = 0; oc0 < out_c; oc0 += 4) {
        const int32_t nb = TG_MIN(4, out_c - oc0);
        decode_block(format, bits, codebook, weights, row_bytes, oc0, nb, n, scratch);
        for (tg_conv_pixel p = tg_conv_first(&g); p.b < batches; tg_conv_next(&g, &p)) {
            const int8_t *in_batch = input + p.b * in_h * in_w * in_c;
            int32_t acc[4] = {0, 0, 0, 0};
            if (short_rows) {
                /* padding reads as -input_offset, which contributes 0 */
                int8_t *pp = patch;
                for (int32_t fy = 0; fy < filter_h; ++fy) {
                    const int32_t in_y = p.in_y + dilation_h * fy;
                    for (int32_t fx = 0; fx < filter_w; ++fx) {
                        const int32_t in_x = p.in_x + dilation_w * fx;
                        const int inside = in_y >= 0 && in_y < in_h && in_x >= 0 && in_x < in_w;
                        const int8_t *src = in_batch + (in_y * in_w + in_x) * in_c;
                        for (int32_t c = 0; c < in_c; ++c) {
                            *pp++ = inside ? src[c] : pad_value;
                        }
                    }
                }
                segment(scratch, n, nb, 0, patch, n, input_offset, acc);
            } else {
                /* a filter row lying wholly inside the image reads filter_w * in_c contiguous inputs */
                const int32_t whole_rows = dilation_w == 1 && p.in_x >= 0 && p.in_x + filter_w <= in_w;
                const int32_t seg = whole_rows ? filter_w * in_c : in_c;
                const int32_t fx_end = whole_rows ? 1 : p.fx.end;
                for (int32_t fy = p.fy.first; fy < p.fy.end; ++fy) {
                    const int32_t in_y = p.in_y + dilation_h * fy;
                    for (int32_t fx = whole_rows ? 0 : p.fx.first; fx < fx_end; ++fx) {
                        segment(scratch, n, nb, (fy * filter_w + fx) * in_c,
                                in_batch + (in_y * in_w + p.in_x + dilation_w * fx) * in_c, seg, input_offset, acc);
                    }
                }
            }
            int8_t *out_px = output + p.pixel * out_c + oc0;
            for (int32_t r = 0; r < nb; ++r) {
                out_px[r] = tg_lb_finish(acc[r], bias, oc0 + r, mult, shift, output_offset, act_min, act_max);
            }
        }
    }
    return TG_OK;
}

int32_t tg_conv2d_lb_get_buffer_size(int32_t format, int32_t filter_h, int32_t filter_w, int32_t in_c)
{
    const int32_t n = filter_h * filter_w * in_c;
    return (format == TG_WF_TERNARY ? 8 : 4) * n + (filter_w * in_c < 16 ? n : 0);
}
