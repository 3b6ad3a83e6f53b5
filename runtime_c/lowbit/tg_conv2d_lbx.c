/* tinygen runtime: CONV_2D with low-bit weights decoded once per call; contract in tg_lowbit_x.h. */
#include "tg_lowbit_dec.h"
#include "tg_conv2d_s8_fast.h"
#include "tg_gemm_s8_fast.h"

int32_t tg_conv2d_lbx_tab_words(int32_t format, int32_t bits, int32_t n, int32_t out_c)
{
    if (tg_lbx_nibbles(format, bits)) {
        return out_c * (n >> 2) * 2 >= TG_LBX_TAB_MIN_BYTES ? 256 : 0;
    }
    return 1 << (2 * tg_lbx_field_bits(format, bits));
}

/* Rows of 1- to 3-bit values in pair order (tg_lowbit_x.h) through tab, the 2^(2 bits) words of every field */
static void rows_pal(const uint8_t *p, int32_t n, int32_t bits, const int16_t *codebook, const uint32_t *tab,
                     uint32_t *w)
{
    const int32_t full = n >> 2, r = n & 3;
    int32_t g = 0, off = 0; /* off: the bit of *p where the values after the last full group start */
    if (bits == 2) { /* a byte per group */
        for (; g + 4 <= full; g += 4, p += 4, w += 32) {
            const uint32_t x = tg_read_u32(p);
            w[0] = tab[x & 15u];
            w[1] = tab[(x >> 4) & 15u];
            w[8] = tab[(x >> 8) & 15u];
            w[9] = tab[(x >> 12) & 15u];
            w[16] = tab[(x >> 16) & 15u];
            w[17] = tab[(x >> 20) & 15u];
            w[24] = tab[(x >> 24) & 15u];
            w[25] = tab[x >> 28];
        }
        for (; g < full; ++g, ++p, w += 8) {
            w[0] = tab[*p & 15u];
            w[1] = tab[*p >> 4];
        }
    } else if (bits == 1) { /* a byte per 2 groups */
        for (; g + 2 <= full; g += 2, ++p, w += 16) {
            const uint32_t x = *p;
            w[0] = tab[x & 3u];
            w[1] = tab[(x >> 2) & 3u];
            w[8] = tab[(x >> 4) & 3u];
            w[9] = tab[x >> 6];
        }
        if (g < full) {
            w[0] = tab[*p & 3u];
            w[1] = tab[(*p >> 2) & 3u];
            w += 8;
            off = 4;
        }
    } else { /* 12 bytes per 8 groups (16 fields of 6 bits, two across words), then 3 bytes per 2 groups */
        for (; g + 8 <= full; g += 8, p += 12, w += 64) {
            const uint32_t x0 = tg_read_u32(p), x1 = tg_read_u32(p + 4), x2 = tg_read_u32(p + 8);
            w[0] = tab[x0 & 63u];
            w[1] = tab[(x0 >> 6) & 63u];
            w[8] = tab[(x0 >> 12) & 63u];
            w[9] = tab[(x0 >> 18) & 63u];
            w[16] = tab[(x0 >> 24) & 63u];
            w[17] = tab[((x0 >> 30) | (x1 << 2)) & 63u];
            w[24] = tab[(x1 >> 4) & 63u];
            w[25] = tab[(x1 >> 10) & 63u];
            w[32] = tab[(x1 >> 16) & 63u];
            w[33] = tab[(x1 >> 22) & 63u];
            w[40] = tab[((x1 >> 28) | (x2 << 4)) & 63u];
            w[41] = tab[(x2 >> 2) & 63u];
            w[48] = tab[(x2 >> 8) & 63u];
            w[49] = tab[(x2 >> 14) & 63u];
            w[56] = tab[(x2 >> 20) & 63u];
            w[57] = tab[x2 >> 26];
        }
        for (; g + 2 <= full; g += 2, p += 3, w += 16) {
            const uint32_t x = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
            w[0] = tab[x & 63u];
            w[1] = tab[(x >> 6) & 63u];
            w[8] = tab[(x >> 12) & 63u];
            w[9] = tab[x >> 18];
        }
        if (g < full) {
            const uint32_t x = (uint32_t)p[0] | (uint32_t)p[1] << 8;
            w[0] = tab[x & 63u];
            w[1] = tab[(x >> 6) & 63u];
            w += 8;
            p += 1;
            off = 4;
        }
    }
    if (r != 0) { /* the last r values in value order, `bits` each from bit off of p (within the row) */
        const int32_t used = (off + r * bits + 7) >> 3;
        uint32_t x = 0;
        for (int32_t i = 0; i < used; ++i) {
            x |= (uint32_t)p[i] << (8 * i);
        }
        x >>= off;
        const uint32_t m = (1u << bits) - 1u;
        const uint32_t v0 = (uint32_t)(uint16_t)codebook[x & m], v1 = (uint32_t)(uint16_t)codebook[(x >> bits) & m];
        const uint32_t v2 = (uint32_t)(uint16_t)codebook[(x >> (2 * bits)) & m];
        w[0] = v0 | (r == 3 ? v2 << 16 : 0u);
        w[1] = r >= 2 ? v1 : 0u;
    }
}

/* Rows of a 4-bit format into the filter (w: row c & 3 of its block, group 0): full groups in pair order,
 * through the 256-entry table tab when given (4 bytes, 2 groups, per load), else through lut */
static void rows_4bit(const uint8_t *p, int32_t n, const int16_t *lut, const uint32_t *tab, uint32_t *w)
{
    const int32_t full = n >> 2, r = n & 3;
    int32_t g = 0;
    if (tab != NULL) {
        for (; g + 2 <= full; g += 2, p += 4, w += 16) {
            const uint32_t x = tg_read_u32(p);
            w[0] = tab[x & 0xFFu];
            w[1] = tab[(x >> 8) & 0xFFu];
            w[8] = tab[(x >> 16) & 0xFFu];
            w[9] = tab[x >> 24];
        }
    }
    for (; g < full; ++g, p += 2, w += 8) {
        w[0] = tg_lbx_pair(lut, p[0]);
        w[1] = tg_lbx_pair(lut, p[1]);
    }
    if (r != 0) { /* the last r values in value order: (v0 | v1 << 4), (v2) */
        const uint32_t b0 = p[0], v2 = r == 3 ? (uint32_t)(uint16_t)lut[p[1] & 15u] << 16 : 0u;
        w[0] = (uint32_t)(uint16_t)lut[b0 & 15u] | v2;
        w[1] = r >= 2 ? (uint32_t)(uint16_t)lut[b0 >> 4] : 0u;
    }
}

int tg_conv2d_lbx(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook, const uint8_t *weights,
    int32_t row_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h, int32_t dilation_w, int32_t pad_top,
    int32_t pad_left, int32_t input_offset, int32_t output_offset, int32_t fold, int32_t act_min, int32_t act_max,
    const int16_t *mult, const int8_t *shift, int32_t rq_words, int32_t wshift, int32_t batches, int32_t in_h,
    int32_t in_w, int32_t in_c, const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias,
    int32_t out_h, int32_t out_w, int32_t out_c, int8_t *output)
{
    if (!tg_lb_known_format(format, bits) || (rq_words != TG_RQ_RS && rq_words != TG_RQ_GEN) || bias == NULL ||
        !tg_lbx_wshift_ok(format, wshift, TG_LBX_MAX_WSHIFT)) {
        return TG_ERROR;
    }
    const int32_t folded = fold ? output_offset : 0;
    const int32_t n = filter_h * filter_w * in_c, k4 = (n + 3) >> 2, blocks = (out_c + 3) >> 2;
    const int32_t tab_words = tg_conv2d_lbx_tab_words(format, bits, n, out_c);
    int32_t *quant = (int32_t *)(void *)(scratch + TG_LBX_HEAD(k4, tab_words));
    uint32_t *filter = (uint32_t *)(void *)(quant + blocks * 4 * rq_words);
    int8_t *zp_px = (int8_t *)(void *)(filter + blocks * 8 * k4);
    int16_t lut[16];
    tg_lbx_lut(format, bits, codebook, lut);
    const uint32_t *tab = NULL;
    const int nib = tg_lbx_nibbles(format, bits);
    const int32_t fb = tg_lbx_field_bits(format, bits);
    int16_t book[8];
    tg_lbx_small_book(format, bits, codebook, wshift, book);
    if (tab_words != 0) {
        uint32_t *t = (uint32_t *)(void *)scratch;
        if (nib) {
            tg_lbx_pair_tab(lut, t);
        } else { /* field f: book[f & mask] | book[f >> fb] << 16 */
            const uint32_t m = (1u << fb) - 1u;
            for (uint32_t f = 0; f < (uint32_t)tab_words; ++f) {
                t[f] = (uint32_t)(uint16_t)book[f & m] | (uint32_t)(uint16_t)book[f >> fb] << 16;
            }
        }
        tab = t;
    }
    for (int32_t c = 0; c < out_c; ++c) {
        uint32_t *w = filter + (c >> 2) * 8 * k4 + (c & 3) * 2; /* row c & 3 of its block, group 0 */
        const uint8_t *p = weights + c * row_bytes;
        tg_lbx_record(quant, rq_words, c, bias[c], tg_lb_mult(mult, shift, c), tg_lb_shift(shift, c), folded);
        if (nib) {
            rows_4bit(p, n, lut, tab, w);
            continue;
        }
        rows_pal(p, n, fb, book, tab, w);
    }
    for (int32_t c = out_c; c < blocks * 4; ++c) { /* the rows past out_c: zero weights */
        uint32_t *w = filter + (c >> 2) * 8 * k4 + (c & 3) * 2;
        for (int32_t g = 0; g < k4; ++g, w += 8) {
            w[0] = 0;
            w[1] = 0;
        }
    }
    tg_lbx_pad_records(quant, rq_words, out_c);
    for (int32_t i = 0; i < in_c; ++i) {
        zp_px[i] = (int8_t)-input_offset;
    }
    if (filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0 &&
        (in_c & 3) == 0 && out_h == in_h && out_w == in_w) { /* 1x1: one GEMM call over every pixel */
        tg_gemm_s8_fast_x_pixels((uint32_t *)(void *)scratch, input, batches * out_h * out_w, 0, k4,
                                 (const int32_t *)filter, quant, rq_words, output_offset - folded, act_min, act_max,
                                 out_c, output);
        return TG_OK;
    }
    return tg_conv2d_s8_fast(scratch, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, -input_offset,
                             zp_px, output_offset - folded, act_min, act_max, batches, in_h, in_w, in_c, input, filter_h,
                             filter_w, (const int32_t *)filter, TG_GEMM_EXTEND, quant, rq_words, out_h, out_w,
                             out_c, output);
}

int32_t tg_conv2d_lbx_get_buffer_size(int32_t format, int32_t bits, int32_t rq_words, int32_t filter_h,
                                      int32_t filter_w, int32_t in_c, int32_t out_c)
{
    const int32_t n = filter_h * filter_w * in_c, k4 = (n + 3) >> 2, blocks = (out_c + 3) >> 2;
    const int32_t head = TG_LBX_HEAD(k4, tg_conv2d_lbx_tab_words(format, bits, n, out_c));
    return head + blocks * 16 * rq_words + blocks * 32 * k4 + ((in_c + 3) & ~3);
}
