/* tinygen runtime: FULLY_CONNECTED with low-bit weights decoded once per call; contract in tg_lowbit_x.h. */
#include "tg_lowbit_dec.h"
#include "tg_fully_connected_s8_fast.h"

int tg_fully_connected_lbx(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t input_offset, int32_t output_offset, int32_t fold,
    int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t rq_words, int32_t wshift,
    int32_t batches, int32_t accum_depth, const int8_t *input, int32_t out_depth, const int32_t *bias,
    int8_t *output)
{
    if (!tg_lb_known_format(format, bits) || (rq_words != TG_RQ_RS && rq_words != TG_RQ_GEN) ||
        (accum_depth & 3) != 0 || bias == NULL || !tg_lbx_wshift_ok(format, wshift, 6)) {
        return TG_ERROR;
    }
    const int32_t folded = fold ? output_offset : 0;
    (void)input_offset; /* folded into bias */
    const int32_t k4 = accum_depth >> 2, blocks = (out_depth + 3) >> 2;
    int32_t *quant = (int32_t *)(void *)scratch;
    uint32_t *filter = (uint32_t *)(void *)(quant + blocks * 4 * rq_words);
    int16_t *row = (int16_t *)(void *)(filter + blocks * 4 * k4);
    int16_t lut[16];
    tg_lbx_lut(format, bits, codebook, lut);
    const int nib = tg_lbx_nibbles(format, bits);
    uint16_t bytes[16]; /* nib: a byte's two values as (v0 & 0xFF) | v1 << 8 -> bytes[lo] | bytes[hi] << 8 */
    for (int32_t v = 0; v < 16; ++v) {
        bytes[v] = (uint16_t)(lut[v] & 0xFF);
    }
    for (int32_t c = 0; c < blocks * 4; ++c) {
        uint32_t *w = filter + (c >> 2) * 4 * k4 + (c & 3); /* row c & 3 of its block, group 0 */
        if (c < out_depth && nib) { /* 2 bytes (4 values) -> the 4 bytes of a group */
            const uint8_t *p = weights + c * row_bytes;
            tg_lbx_record(quant, rq_words, c, bias[c], tg_lb_mult(mult, shift, c), tg_lb_shift(shift, c), folded);
            for (int32_t g = 0; g < k4; ++g, p += 2, w += 4) {
                const uint32_t b0 = p[0], b1 = p[1];
                *w = (uint32_t)bytes[b0 & 15u] | (uint32_t)bytes[b0 >> 4] << 8 | (uint32_t)bytes[b1 & 15u] << 16 |
                     (uint32_t)bytes[b1 >> 4] << 24;
            }
        } else if (c < out_depth && format == TG_WF_PALETTE) { /* 2- / 3-bit fields, 4 per group */
            const uint8_t *p = weights + c * row_bytes;
            const uint32_t m = (1u << bits) - 1u;
            uint32_t buf = 0;
            int32_t have = 0;
            tg_lbx_record(quant, rq_words, c, bias[c], tg_lb_mult(mult, shift, c), tg_lb_shift(shift, c), folded);
            for (int32_t g = 0; g < k4; ++g, w += 4) {
                while (have < 4 * bits) { /* the row's bytes only: a group's fields end inside it */
                    buf |= (uint32_t)*p++ << have;
                    have += 8;
                }
                *w = (uint32_t)(uint8_t)codebook[buf & m] | (uint32_t)(uint8_t)codebook[(buf >> bits) & m] << 8 |
                     (uint32_t)(uint8_t)codebook[(buf >> (2 * bits)) & m] << 16 |
                     (uint32_t)(uint8_t)codebook[(buf >> (3 * bits)) & m] << 24;
                buf >>= 4 * bits;
                have -= 4 * bits;
            }
        } else if (c < out_depth) {
            tg_lbx_row(format, bits, codebook, lut, weights + c * row_bytes, row_bytes, accum_depth, accum_depth,
                       1 << wshift, row);
            tg_lbx_record(quant, rq_words, c, bias[c], tg_lb_mult(mult, shift, c), tg_lb_shift(shift, c), folded);
            const uint16_t *u = (const uint16_t *)row;
            for (int32_t g = 0; g < k4; ++g, u += 4, w += 4) { /* 4 values as 4 bytes */
                *w = (u[0] & 0xFFu) | (uint32_t)(u[1] & 0xFFu) << 8 | (uint32_t)(u[2] & 0xFFu) << 16 |
                     (uint32_t)u[3] << 24;
            }
        } else {
            for (int32_t g = 0; g < k4; ++g, w += 4) {
                *w = 0;
            }
        }
    }
    tg_lbx_pad_records(quant, rq_words, out_depth);
    return tg_fully_connected_s8_fast(output_offset - folded, act_min, act_max, batches, accum_depth, input,
                                      out_depth, (const int32_t *)filter, 0, quant, rq_words, output);
}

int32_t tg_fully_connected_lbx_get_buffer_size(int32_t rq_words, int32_t accum_depth, int32_t out_depth)
{
    const int32_t k4 = (accum_depth + 3) >> 2, blocks = (out_depth + 3) >> 2;
    return blocks * 16 * rq_words + blocks * 16 * k4 + 8 * k4;
}
