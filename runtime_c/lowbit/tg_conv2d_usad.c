/* tinygen runtime: CONV_2D with binary weights by USADA8; contract in tg_conv2d_usad.h. */
#include "tg_usad.h"

#if TG_DSP_EMULATED

/* The device's loop below, one statement per instruction: n groups of one column word and 4 mask words */
TG_ALWAYS_INLINE void usad_block(const uint32_t *c, const uint32_t *w, int32_t n, int32_t acc[4])
{
    uint32_t a[4] = {(uint32_t)acc[0], (uint32_t)acc[1], (uint32_t)acc[2], (uint32_t)acc[3]};
    for (int32_t k = 0; k < n; ++k) {
        uint32_t r8, r9, r10, r11;
        const uint32_t u = tg_emu_ldr(c);
        c += 1;                            /* ldr u, [c], #4 */
        tg_emu_ldm4(w, &r8, &r9, &r10, &r11);
        w += 4;                            /* ldmia w!, {r8, r9, r10, r11} */
        a[0] = usad_emu(u, r8, a[0]);      /* usada8 a0, u, r8, a0 */
        a[1] = usad_emu(u, r9, a[1]);      /* usada8 a1, u, r9, a1 */
        a[2] = usad_emu(u, r10, a[2]);     /* usada8 a2, u, r10, a2 */
        a[3] = usad_emu(u, r11, a[3]);     /* usada8 a3, u, r11, a3 */
    }
    for (int32_t r = 0; r < 4; ++r) {
        acc[r] = tg_emu_s32(a[r]);
    }
}

#elif TG_HAS_DSP

#define TG_USAD_STEP \
    "ldr %[u], [%[c]], #4\n\t" \
    "ldmia %[w]!, {r8, r9, r10, r11}\n\t" \
    "usada8 %[a0], %[u], r8, %[a0]\n\t" \
    "usada8 %[a1], %[u], r9, %[a1]\n\t" \
    "usada8 %[a2], %[u], r10, %[a2]\n\t" \
    "usada8 %[a3], %[u], r11, %[a3]\n\t"

/* n >= 1 groups: one step when bit 0 of n is set, two when bit 1 is, then four per iteration (the
 * steps set no flags: each branch reads the flags of the LSRS before it) */
TG_ALWAYS_INLINE void usad_block(const uint32_t *c, const uint32_t *w, int32_t n, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t u;
    __asm__ volatile("lsrs %[n], %[n], #1\n\t"
                     "bcc 4f\n\t" TG_USAD_STEP
                     "4:\n\t"
                     "lsrs %[n], %[n], #1\n\t"
                     "bcc 2f\n\t" TG_USAD_STEP TG_USAD_STEP
                     "2:\n\t"
                     "beq 3f\n\t"
                     "1:\n\t" TG_USAD_STEP TG_USAD_STEP TG_USAD_STEP TG_USAD_STEP
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     "3:\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [c] "+r"(c), [w] "+r"(w), [n] "+r"(n),
          [u] "=&r"(u)
        :
        : "r8", "r9", "r10", "r11", "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

#else

/* USADA8's sums from usad_bytes: a word adds at most 2 * 255 to a lane, so 128 words per round */
TG_ALWAYS_INLINE void usad_block(const uint32_t *c, const uint32_t *w, int32_t n, int32_t acc[4])
{
    while (n > 0) {
        const int32_t m = n < 128 ? n : 128;
        uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int32_t k = 0; k < m; ++k, ++c, w += 4) {
            const uint32_t u = *c;
            s0 += usad_bytes(u ^ w[0]);
            s1 += usad_bytes(u ^ w[1]);
            s2 += usad_bytes(u ^ w[2]);
            s3 += usad_bytes(u ^ w[3]);
        }
        acc[0] = (int32_t)((uint32_t)acc[0] + usad_lanes(s0));
        acc[1] = (int32_t)((uint32_t)acc[1] + usad_lanes(s1));
        acc[2] = (int32_t)((uint32_t)acc[2] + usad_lanes(s2));
        acc[3] = (int32_t)((uint32_t)acc[3] + usad_lanes(s3));
        n -= m;
    }
}

#endif /* TG_HAS_DSP */

/* One pixel's outputs from its column c (k4 words): blocks of 4 channels, records q, masks w */
TG_ALWAYS_INLINE void usad_pixel(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q,
                                 int32_t rq_words, int32_t output_offset, int32_t act_min, int32_t act_max,
                                 int32_t out_c, int8_t *out)
{
    const int32_t rest = out_c & 3;
    int8_t tail[4] = {0, 0, 0, 0}; /* written by the last partial block before it is read */
    for (int32_t g = (out_c + 3) >> 2; g > 0; --g, w += 4 * k4, q += 4 * rq_words, out += 4) {
        int32_t acc[4] = {q[0], q[1], q[2], q[3]};
        usad_block(c, w, k4, acc);
        tg_rq4_store(acc[0], acc[1], acc[2], acc[3], q + 4, rq_words, output_offset, act_min, act_max,
                     g == 1 && rest != 0 ? tail : out);
    }
    for (int32_t i = 0; i < rest; ++i) {
        out[i - 4] = tail[i];
    }
}

/* usad_pixel with the record size a constant: one copy each */
static TG_USAD_NOINLINE void usad_out_rs(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t out_c, int8_t *out)
{
    usad_pixel(c, k4, w, q, TG_RQ_RS, output_offset, act_min, act_max, out_c, out);
}

static TG_USAD_NOINLINE void usad_out_gen(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t out_c, int8_t *out)
{
    usad_pixel(c, k4, w, q, TG_RQ_GEN, output_offset, act_min, act_max, out_c, out);
}

/* Every output pixel of a general conv: its window gathered, as the column (from the strip, filled once an
 * output row, where the layer has one: st->cols > 0), then its outputs */
static void usad_windows(const usad_geo *g, usad_strip *st, const int8_t *input, int32_t batches, int32_t out_h,
    int32_t out_w, uint32_t puw, uint32_t *col, const uint32_t *w, const int32_t *q, int32_t rq_words,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t out_c, int8_t *out)
{
    const int32_t n = g->filter_h * g->filter_w * g->in_c, img = g->in_h * g->in_w * g->in_c;
    for (int32_t b = 0; b < batches; ++b, input += img) {
        for (int32_t oy = 0; oy < out_h; ++oy) {
            if (st->cols > 0) {
                usad_strip_fill(g, st, input, (batches - b) * img, oy, puw);
            }
            for (int32_t ox = 0; ox < out_w; ++ox, out += out_c) {
                if (st->cols > 0) {
                    usad_strip_window(g, st, ox, (int8_t *)(void *)col);
                    usad_tail(col, n); /* the bytes past n are 0 */
                } else {
                    usad_window_words(g, input, oy, ox, puw, col, 1);
                }
                if (rq_words == TG_RQ_RS) {
                    usad_out_rs(col, (n + 3) >> 2, w, q, output_offset, act_min, act_max, out_c, out);
                } else {
                    usad_out_gen(col, (n + 3) >> 2, w, q, output_offset, act_min, act_max, out_c, out);
                }
            }
        }
    }
}

int tg_conv2d_usad(int8_t *scratch, const uint8_t *weights, int32_t row_bytes, int32_t stride_h, int32_t stride_w,
    int32_t dilation_h, int32_t dilation_w, int32_t pad_top, int32_t pad_left, int32_t input_offset,
    int32_t output_offset, int32_t act_min, int32_t act_max, const int16_t *mult, const int8_t *shift,
    int32_t rq_words, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
    int32_t filter_h, int32_t filter_w, const int32_t *bias, int32_t out_h, int32_t out_w, int32_t out_c,
    int8_t *output)
{
    const int32_t n = filter_h * filter_w * in_c, k4 = (n + 3) >> 2, blocks = (out_c + 3) >> 2;
    if ((rq_words != TG_RQ_RS && rq_words != TG_RQ_GEN) || bias == NULL || row_bytes * 8 < n) {
        return TG_ERROR;
    }
    int32_t *quant = (int32_t *)(void *)scratch;
    uint32_t *masks = (uint32_t *)(void *)(quant + blocks * 4 * rq_words);
    uint32_t *col = masks + blocks * 4 * k4;
    for (int32_t c = 0; c < out_c; ++c) {
        tg_lbx_record(quant, rq_words, c, bias[c], tg_lb_mult(mult, shift, c), tg_lb_shift(shift, c), 0);
        usad_masks(weights + c * row_bytes, n, masks + (c >> 2) * 4 * k4 + (c & 3));
    }
    for (int32_t c = out_c; c < blocks * 4; ++c) { /* the rows past out_c: their outputs are dropped */
        uint32_t *w = masks + (c >> 2) * 4 * k4 + (c & 3);
        for (int32_t g = 0; g < k4; ++g) {
            w[4 * g] = 0;
        }
    }
    tg_lbx_pad_records(quant, rq_words, out_c);
    if (filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0 &&
        out_h == in_h && out_w == in_w) { /* 1x1: a pixel's input is its column */
        for (int32_t p = batches * out_h * out_w; p > 0; --p, input += in_c, output += out_c) {
            usad_column(input, in_c, col);
            if (rq_words == TG_RQ_RS) {
                usad_out_rs(col, k4, masks, quant, output_offset, act_min, act_max, out_c, output);
            } else {
                usad_out_gen(col, k4, masks, quant, output_offset, act_min, act_max, out_c, output);
            }
        }
        return TG_OK;
    }
    const usad_geo g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, in_h, in_w, in_c, filter_h,
                        filter_w};
    const uint32_t puw = ((uint32_t)(128 - input_offset) & 0xFFu) * 0x01010101u; /* u of the input zero point */
    usad_strip st = {(int8_t *)(void *)(col + k4 + 1),
                     usad_strip_cols(filter_h, filter_w, in_c, stride_h, stride_w, dilation_w, pad_top, pad_left,
                                     in_h, in_w, out_h, out_w), -1, -1};
    usad_windows(&g, &st, input, batches, out_h, out_w, puw, col, masks, quant, rq_words, output_offset, act_min,
                 act_max, out_c, output);
    return TG_OK;
}

int32_t tg_conv2d_usad_get_buffer_size(int32_t rq_words, int32_t filter_h, int32_t filter_w, int32_t in_c,
    int32_t out_c, int32_t stride_h, int32_t stride_w, int32_t dilation_w, int32_t pad_top, int32_t pad_left,
    int32_t in_h, int32_t in_w, int32_t out_h, int32_t out_w)
{
    const int32_t k4 = (filter_h * filter_w * in_c + 3) >> 2, blocks = (out_c + 3) >> 2;
    const int32_t cols = usad_strip_cols(filter_h, filter_w, in_c, stride_h, stride_w, dilation_w, pad_top, pad_left,
                                         in_h, in_w, out_h, out_w);
    return blocks * 16 * rq_words + blocks * 16 * k4 + 4 * k4 + 4 + usad_strip_bytes(filter_h, in_c, cols);
}
