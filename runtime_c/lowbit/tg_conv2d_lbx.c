/* tinygen runtime: CONV_2D with low-bit weights decoded once per call; contract in tg_lowbit_x.h. */
#include "tg_lowbit_dec.h"
#include "tg_conv2d_s8_fast.h"
#include "tg_gemm_s8_fast.h"

int tg_conv2d_lbx(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook, const uint8_t *weights,
    int32_t row_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w, int32_t pad_top,
    int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t act_min, int32_t act_max,
    const int16_t *mult, const int8_t *shift, int32_t rq_words, int32_t batches, int32_t in_h, int32_t in_w,
    int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias, int32_t out_h,
    int32_t out_w, int32_t out_c, int8_t *output)
{
    if (!tg_lb_known_format(format, bits) || (rq_words != TG_RQ_RS && rq_words != TG_RQ_GEN)) {
        return TG_ERROR;
    }
    const int32_t n = filter_h * filter_w * in_c, k4 = (n + 3) >> 2, blocks = (out_c + 3) >> 2;
    int16_t *row = (int16_t *)(void *)scratch; /* the kernel's column, free until the call */
    int32_t *quant = (int32_t *)(void *)(scratch + 8 * k4);
    uint32_t *filter = (uint32_t *)(void *)(quant + blocks * 4 * rq_words);
    int8_t *zp_px = (int8_t *)(void *)(filter + blocks * 8 * k4);
    int16_t lut[16];
    tg_lbx_lut(format, bits, codebook, lut);
    const int direct = tg_lbx_nibbles(format, bits) && (n & 3) == 0;
    const int signs = (format == TG_WF_TERNARY || format == TG_WF_BINARY) && (n & 3) == 0;
    tg_lbx_sign_tab tab;
    if (signs) {
        tg_lbx_sign_tab_init(format, &tab);
    }
    for (int32_t c = 0; c < blocks * 4; ++c) {
        uint32_t *w = filter + (c >> 2) * 8 * k4 + (c & 3) * 2; /* row c & 3 of its block, group 0 */
        if (c < out_c && direct && format == TG_WF_INT4) { /* 2 bytes -> (w0 | w2 << 16), (w1 | w3 << 16) */
            const uint8_t *p = weights + c * row_bytes;
            int32_t sum = 0;
            for (int32_t g = 0; g < k4; ++g, p += 2, w += 8) {
                const uint32_t v = (uint32_t)p[0] | ((uint32_t)p[1] << 16);
                const uint32_t lo = v & 0x000F000Fu, hi = (v >> 4) & 0x000F000Fu;
                /* a 4-bit lane with bit 3 set gets 0xFFF0 ORed in: its int16 value (no carry between lanes) */
                w[0] = lo | ((lo & 0x00080008u) * 0x1FFEu);
                w[1] = hi | ((hi & 0x00080008u) * 0x1FFEu);
                sum = tg_smlad(w[0], 0x00010001u, tg_smlad(w[1], 0x00010001u, sum));
            }
            tg_lbx_record(quant, rq_words, c, tg_lbx_bias(bias, c, input_offset, sum), mult[c], shift[c], 0);
            continue;
        }
        if (c < out_c && direct) { /* 2 bytes (4 nibbles) straight to the two words of a group */
            const uint8_t *p = weights + c * row_bytes;
            const uint16_t *lu = (const uint16_t *)lut;
            int32_t sum = 0;
            for (int32_t g = 0; g < k4; ++g, p += 2, w += 8) {
                const uint32_t b0 = p[0], b1 = p[1];
                w[0] = (uint32_t)lu[b0 & 15u] | ((uint32_t)lu[b1 & 15u] << 16);
                w[1] = (uint32_t)lu[b0 >> 4] | ((uint32_t)lu[b1 >> 4] << 16);
                sum = tg_smlad(w[0], 0x00010001u, tg_smlad(w[1], 0x00010001u, sum));
            }
            tg_lbx_record(quant, rq_words, c, tg_lbx_bias(bias, c, input_offset, sum), mult[c], shift[c], 0);
            continue;
        }
        if (c < out_c && signs) { /* a nibble of each bit plane straight to the two words of a group */
            const uint8_t *p = weights + c * row_bytes;
            int32_t sum = 0;
            for (int32_t g = 0; g < k4; ++g, w += 8) {
                sum += tg_lbx_sign_group(&tab, format == TG_WF_TERNARY, p, p + (row_bytes >> 1), g, w);
            }
            tg_lbx_record(quant, rq_words, c, tg_lbx_bias(bias, c, input_offset, sum), mult[c], shift[c], 0);
            continue;
        }
        if (c < out_c) {
            const int32_t sum = tg_lbx_row(format, bits, codebook, lut, weights + c * row_bytes, row_bytes, n, 4 * k4,
                                           row);
            tg_lbx_record(quant, rq_words, c, tg_lbx_bias(bias, c, input_offset, sum), mult[c], shift[c], 0);
        } else {
            for (int32_t j = 0; j < 4 * k4; ++j) {
                row[j] = 0;
            }
        }
        /* per group of 4 values: (w0 | w2 << 16), (w1 | w3 << 16) as int16 pairs */
        const uint16_t *u = (const uint16_t *)row;
        for (int32_t g = 0; g < k4; ++g, u += 4, w += 8) {
            w[0] = (uint32_t)u[0] | ((uint32_t)u[2] << 16);
            w[1] = (uint32_t)u[1] | ((uint32_t)u[3] << 16);
        }
    }
    tg_lbx_pad_records(quant, rq_words, out_c);
    for (int32_t i = 0; i < in_c; ++i) {
        zp_px[i] = (int8_t)-input_offset;
    }
    if (filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0 &&
        (in_c & 3) == 0 && out_h == in_h && out_w == in_w) { /* 1x1: one GEMM call over every pixel */
        tg_gemm_s8_fast_x_pixels((uint32_t *)(void *)scratch, input, batches * out_h * out_w, 0, k4,
                                 (const int32_t *)filter, quant, rq_words, output_offset, act_min, act_max, out_c,
                                 output);
        return TG_OK;
    }
    return tg_conv2d_s8_fast(scratch, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, -input_offset,
                             zp_px, output_offset, act_min, act_max, batches, in_h, in_w, in_c, input, filter_h,
                             filter_w, (const int32_t *)filter, TG_GEMM_EXTEND, quant, rq_words, out_h, out_w,
                             out_c, output);
}

int32_t tg_conv2d_lbx_get_buffer_size(int32_t rq_words, int32_t filter_h, int32_t filter_w, int32_t in_c, int32_t out_c)
{
    const int32_t k4 = (filter_h * filter_w * in_c + 3) >> 2, blocks = (out_c + 3) >> 2;
    return 8 * k4 + blocks * 16 * rq_words + blocks * 32 * k4 + ((in_c + 3) & ~3);
}
