/* tinygen runtime: DEPTHWISE_CONV_2D with low-bit weights decoded once per call; contract in tg_lowbit_x.h. */
#include "tg_lowbit_dec.h"
#include "tg_depthwise_conv2d_s8_fast.h"

int tg_depthwise_conv2d_lbx(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t stride_h, int32_t stride_w, int32_t dilation_h,
    int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_offset, int32_t output_offset,
    int32_t fold, int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t rq_words,
    int32_t wshift, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
    int32_t filter_h, int32_t filter_w, const int32_t *bias, int32_t out_h, int32_t out_w, int8_t *output)
{
    const int32_t taps = filter_h * filter_w, pairs = (taps + 1) >> 1;
    if (!tg_lb_known_format(format, bits) || (rq_words != TG_RQ_RS && rq_words != TG_RQ_GEN) || (in_c & 3) != 0 ||
        taps > TG_DW_FAST_MAX_TAPS || bias == NULL || !tg_lbx_wshift_ok(format, wshift, TG_LBX_MAX_WSHIFT)) {
        return TG_ERROR;
    }
    int32_t *quant = (int32_t *)(void *)scratch;
    uint32_t *filter = (uint32_t *)(void *)(quant + in_c * rq_words);
    int8_t *zp_px = (int8_t *)(void *)(filter + in_c * pairs);
    const int32_t folded = fold ? output_offset : 0;
    int16_t lut[16];
    tg_lbx_lut(format, bits, codebook, lut);
    const int nib = tg_lbx_nibbles(format, bits);
    const int32_t fb = tg_lbx_field_bits(format, bits);
    uint32_t tab[64]; /* below 4 bits: the word of every tap pair's field f, book[f & m] | book[f >> fb] << 16 */
    int16_t book[8];
    tg_lbx_small_book(format, bits, codebook, wshift, book);
    if (!nib) {
        for (uint32_t f = 0; f < (1u << (2 * fb)); ++f) {
            tab[f] = (uint32_t)(uint16_t)book[f & ((1u << fb) - 1u)] | (uint32_t)(uint16_t)book[f >> fb] << 16;
        }
    }
    for (int32_t c = 0; c < in_c; ++c) {
        tg_lbx_record(quant, rq_words, c, bias[c], tg_lb_mult(mult, shift, c), tg_lb_shift(shift, c), folded);
        zp_px[c] = (int8_t)-input_offset;
        /* [group of 4 channels][tap pair][channel]: (w_2j | w_2j+1 << 16) as int16 */
        uint32_t *w = filter + (c >> 2) * 4 * pairs + (c & 3);
        const uint8_t *p = weights + c * row_bytes;
        if (nib) { /* a byte is a tap pair */
            for (int32_t j = 0; j < (taps >> 1); ++j, w += 4) {
                *w = tg_lbx_pair(lut, p[j]);
            }
            if (taps & 1) {
                *w = (uint32_t)(uint16_t)lut[p[taps >> 1] & 15u];
            }
            continue;
        }
        /* b-bit fields in value order (b = fb: 2- / 3-bit palettes, TERNARY, BINARY): a tap pair is 2 b bits */
        const uint32_t m2 = (1u << (2 * fb)) - 1u;
        if (row_bytes <= 4) { /* the row in one word (a 3x3 filter: 18 bits ternary, 9 binary) */
            uint32_t row = 0;
            for (int32_t k = 0; k < row_bytes; ++k) {
                row |= (uint32_t)p[k] << (8 * k);
            }
            for (int32_t j = 0; j + 1 < taps; j += 2, w += 4, row >>= 2 * fb) {
                *w = tab[row & m2];
            }
            if (taps & 1) {
                *w = (uint32_t)(uint16_t)book[row & ((1u << fb) - 1u)];
            }
            continue;
        }
        uint32_t buf = 0;
        int32_t have = 0;
        for (int32_t j = 0; j < taps; j += 2, w += 4) {
            if (have < (j + 1 < taps ? 2 * fb : fb)) { /* never past the row's last byte */
                buf |= (uint32_t)*p++ << have;
                have += 8;
            }
            *w = j + 1 < taps ? tab[buf & m2] : (uint32_t)(uint16_t)book[buf & ((1u << fb) - 1u)];
            buf >>= 2 * fb;
            have -= 2 * fb;
        }
    }
    return tg_depthwise_conv2d_s8_fast(stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, zp_px,
                                       output_offset - folded, act_min, act_max, quant, rq_words, batches, in_h,
                                       in_w, in_c, input, filter_h, filter_w, (const int32_t *)filter, out_h, out_w,
                                       output);
}

int32_t tg_depthwise_conv2d_lbx_get_buffer_size(int32_t rq_words, int32_t filter_h, int32_t filter_w, int32_t in_c)
{
    const int32_t pairs = (filter_h * filter_w + 1) >> 1;
    return in_c * (4 * rq_words + 4 * pairs) + in_c;
}
