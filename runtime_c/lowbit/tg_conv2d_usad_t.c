/* tinygen runtime: CONV_2D with ternary weights by USADA8, two masks a weight; contract in tg_conv2d_usad.h. */
#include "tg_usad.h"

#if TG_DSP_EMULATED

/* The device's loop below, one statement per instruction: n groups of two column words (pixels A and B)
 * and 4 mask words (channel 0's two, channel 1's two) */
TG_ALWAYS_INLINE void usad3_block(const uint32_t *c, const uint32_t **wp, int32_t n, int32_t acc[4])
{
    const uint32_t *w = *wp;
    uint32_t a[4] = {(uint32_t)acc[0], (uint32_t)acc[1], (uint32_t)acc[2], (uint32_t)acc[3]};
    for (int32_t k = 0; k < n; ++k) {
        uint32_t r8, r9, r10, r11, r12, lr;
        tg_emu_ldrd(c, &r8, &r9);
        c += 2;                          /* ldrd r8, r9, [c], #8 */
        tg_emu_ldm4(w, &r10, &r11, &r12, &lr);
        w += 4;                          /* ldmia w!, {r10, r11, r12, lr} */
        a[0] = usad_emu(r8, r10, a[0]);  /* usada8 a0, r8, r10, a0 */
        a[0] = usad_emu(r8, r11, a[0]);  /* usada8 a0, r8, r11, a0 */
        a[1] = usad_emu(r8, r12, a[1]);  /* usada8 a1, r8, r12, a1 */
        a[1] = usad_emu(r8, lr, a[1]);   /* usada8 a1, r8, lr, a1 */
        a[2] = usad_emu(r9, r10, a[2]);  /* usada8 a2, r9, r10, a2 */
        a[2] = usad_emu(r9, r11, a[2]);  /* usada8 a2, r9, r11, a2 */
        a[3] = usad_emu(r9, r12, a[3]);  /* usada8 a3, r9, r12, a3 */
        a[3] = usad_emu(r9, lr, a[3]);   /* usada8 a3, r9, lr, a3 */
    }
    for (int32_t r = 0; r < 4; ++r) {
        acc[r] = tg_emu_s32(a[r]);
    }
    *wp = w;
}

#elif TG_HAS_DSP

#define TG_USAD3_STEP \
    "ldrd r8, r9, [%[c]], #8\n\t" \
    "ldmia %[w]!, {r10, r11, r12, lr}\n\t" \
    "usada8 %[a0], r8, r10, %[a0]\n\t" \
    "usada8 %[a0], r8, r11, %[a0]\n\t" \
    "usada8 %[a1], r8, r12, %[a1]\n\t" \
    "usada8 %[a1], r8, lr, %[a1]\n\t" \
    "usada8 %[a2], r9, r10, %[a2]\n\t" \
    "usada8 %[a2], r9, r11, %[a2]\n\t" \
    "usada8 %[a3], r9, r12, %[a3]\n\t" \
    "usada8 %[a3], r9, lr, %[a3]\n\t"

/* n >= 1 groups, unrolled as usad_block's loop; *wp advances past the masks read */
TG_ALWAYS_INLINE void usad3_block(const uint32_t *c, const uint32_t **wp, int32_t n, int32_t acc[4])
{
    const uint32_t *w = *wp;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    __asm__ volatile("lsrs %[n], %[n], #1\n\t"
                     "bcc 4f\n\t" TG_USAD3_STEP
                     "4:\n\t"
                     "lsrs %[n], %[n], #1\n\t"
                     "bcc 2f\n\t" TG_USAD3_STEP TG_USAD3_STEP
                     "2:\n\t"
                     "beq 3f\n\t"
                     "1:\n\t" TG_USAD3_STEP TG_USAD3_STEP TG_USAD3_STEP TG_USAD3_STEP
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     "3:\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [c] "+r"(c), [w] "+r"(w), [n] "+r"(n)
        :
        : "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    *wp = w;
}

#else

/* The same sums from usad_bytes (tg_usad.h): a word adds at most 4 * 255 to a lane, so 64 words a round */
TG_ALWAYS_INLINE void usad3_block(const uint32_t *c, const uint32_t **wp, int32_t n, int32_t acc[4])
{
    const uint32_t *w = *wp;
    *wp = w + 4 * n;
    while (n > 0) {
        const int32_t m = n < 64 ? n : 64;
        uint32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int32_t k = 0; k < m; ++k, c += 2, w += 4) {
            const uint32_t a = c[0], b = c[1];
            s0 += usad_bytes(a ^ w[0]) + usad_bytes(a ^ w[1]);
            s1 += usad_bytes(a ^ w[2]) + usad_bytes(a ^ w[3]);
            s2 += usad_bytes(b ^ w[0]) + usad_bytes(b ^ w[1]);
            s3 += usad_bytes(b ^ w[2]) + usad_bytes(b ^ w[3]);
        }
        acc[0] = (int32_t)((uint32_t)acc[0] + usad_lanes(s0));
        acc[1] = (int32_t)((uint32_t)acc[1] + usad_lanes(s1));
        acc[2] = (int32_t)((uint32_t)acc[2] + usad_lanes(s2));
        acc[3] = (int32_t)((uint32_t)acc[3] + usad_lanes(s3));
        n -= m;
    }
}

#endif /* TG_HAS_DSP */

/* Two pixels' outputs (A at outa, B at outb) from their interleaved columns c (2 * k4 words): pairs of
 * channels, masks w (4 * k4 words a pair), records q (a pair: its two biases, then its two records) */
TG_ALWAYS_INLINE void usad3_pixels(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q,
                                   int32_t rq_words, int32_t output_offset, int32_t act_min, int32_t act_max,
                                   int32_t out_c, int8_t *outa, int8_t *outb)
{
    for (int32_t pairs = out_c >> 1; pairs > 0; --pairs, outa += 2, outb += 2) {
        int32_t acc[4] = {q[0], q[1], q[0], q[1]};
        usad3_block(c, &w, k4, acc);
        const int32_t *rb = q + 2;
        q += 2;
        const int32_t a0 = tg_rq_next(acc[0], &q, rq_words) + output_offset;
        const int32_t a1 = tg_rq_next(acc[1], &q, rq_words) + output_offset;
        const int32_t b0 = tg_rq_next(acc[2], &rb, rq_words) + output_offset;
        const int32_t b1 = tg_rq_next(acc[3], &rb, rq_words) + output_offset;
        uint8_t v[4];
        tg_sat4_store(a0, a1, b0, b1, act_min, act_max, (int8_t *)(void *)v);
        memcpy(outa, v, 2);
        memcpy(outb, v + 2, 2);
    }
    if (out_c & 1) { /* the last channel, paired with a row of zero masks */
        int32_t acc[4] = {q[0], q[1], q[0], q[1]};
        usad3_block(c, &w, k4, acc);
        const int32_t *rb = q + 2;
        q += 2;
        outa[0] = (int8_t)tg_clamp(tg_rq_next(acc[0], &q, rq_words) + output_offset, act_min, act_max);
        outb[0] = (int8_t)tg_clamp(tg_rq_next(acc[2], &rb, rq_words) + output_offset, act_min, act_max);
    }
}

/* usad3_pixels with the record size a constant, and with the output offset folded into the records and
 * no activation bounds inside int8 (the common case) a third copy */
static TG_USAD_NOINLINE void usad3_out_rs0(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q,
                                           int32_t out_c, int8_t *outa, int8_t *outb)
{
    usad3_pixels(c, k4, w, q, TG_RQ_RS, 0, -128, 127, out_c, outa, outb);
}

static TG_USAD_NOINLINE void usad3_out_rs(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t out_c, int8_t *outa, int8_t *outb)
{
    usad3_pixels(c, k4, w, q, TG_RQ_RS, output_offset, act_min, act_max, out_c, outa, outb);
}

static TG_USAD_NOINLINE void usad3_out_gen(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t out_c, int8_t *outa, int8_t *outb)
{
    usad3_pixels(c, k4, w, q, TG_RQ_GEN, output_offset, act_min, act_max, out_c, outa, outb);
}

/* A row's masks from its k4 bytes (a group of 4 weights a byte: m1's bits, then m2's) into w: m1 at
 * w[4 g], m2 at w[4 g + 1] */
TG_ALWAYS_INLINE void usad3_masks(const uint8_t *p, int32_t k4, uint32_t *w)
{
    int32_t g = 0;
    for (; g + 4 <= k4; g += 4, p += 4, w += 16) {
        const uint32_t x = tg_read_u32(p);
        w[0] = mask_tab[x & 15u];
        w[1] = mask_tab[(x >> 4) & 15u];
        w[4] = mask_tab[(x >> 8) & 15u];
        w[5] = mask_tab[(x >> 12) & 15u];
        w[8] = mask_tab[(x >> 16) & 15u];
        w[9] = mask_tab[(x >> 20) & 15u];
        w[12] = mask_tab[(x >> 24) & 15u];
        w[13] = mask_tab[x >> 28];
    }
    for (; g < k4; ++g, ++p, w += 4) {
        w[0] = mask_tab[*p & 15u];
        w[1] = mask_tab[*p >> 4];
    }
}

/* Two pixels' columns interleaved (word k of A, then of B) from n bytes each at xa and xb: u = x ^ 0x80,
 * bytes past n 0 */
static void usad3_column(const int8_t *xa, const int8_t *xb, int32_t n, uint32_t *c)
{
    const int32_t full = n >> 2, r = n & 3;
    for (int32_t k = 0; k < full; ++k, c += 2) {
        c[0] = tg_read_u32(xa + 4 * k) ^ 0x80808080u;
        c[1] = tg_read_u32(xb + 4 * k) ^ 0x80808080u;
    }
    if (r != 0) {
        uint32_t va = 0, vb = 0;
        for (int32_t i = 0; i < r; ++i) {
            va |= ((uint32_t)(uint8_t)xa[4 * full + i] ^ 0x80u) << (8 * i);
            vb |= ((uint32_t)(uint8_t)xb[4 * full + i] ^ 0x80u) << (8 * i);
        }
        c[0] = va;
        c[1] = vb;
    }
}

/* Output pixel (oy, ox)'s window as u words into every other word of col (in_c a multiple of 4): taps
 * outside the input hold puw, the input zero point's u in each byte */
static void usad3_window(const usad_geo *g, const int8_t *in, int32_t oy, int32_t ox, uint32_t puw, uint32_t *col)
{
    const int32_t words = g->in_c >> 2;
    for (int32_t fy = 0; fy < g->filter_h; ++fy) {
        const int32_t iy = oy * g->stride_h - g->pad_top + fy * g->dilation_h;
        const int inside = iy >= 0 && iy < g->in_h;
        int32_t ix = ox * g->stride_w - g->pad_left;
        for (int32_t fx = 0; fx < g->filter_w; ++fx, ix += g->dilation_w) {
            if (!inside || ix < 0 || ix >= g->in_w) {
                for (int32_t k = 0; k < words; ++k, col += 2) {
                    *col = puw;
                }
            } else {
                const int8_t *x = in + (iy * g->in_w + ix) * g->in_c;
                for (int32_t k = 0; k < words; ++k, col += 2, x += 4) {
                    *col = tg_read_u32(x) ^ 0x80808080u;
                }
            }
        }
    }
}

/* output_offset: what is left to add (0 when the records hold it) */
static void usad3_run(const uint32_t *c, int32_t k4, const uint32_t *w, const int32_t *q, int32_t rq_words,
    int32_t output_offset, int32_t act_min, int32_t act_max, int32_t out_c, int8_t *outa, int8_t *outb)
{
    if (rq_words == TG_RQ_RS && output_offset == 0 && act_min == -128 && act_max == 127) {
        usad3_out_rs0(c, k4, w, q, out_c, outa, outb);
    } else if (rq_words == TG_RQ_RS) {
        usad3_out_rs(c, k4, w, q, output_offset, act_min, act_max, out_c, outa, outb);
    } else {
        usad3_out_gen(c, k4, w, q, output_offset, act_min, act_max, out_c, outa, outb);
    }
}

int tg_conv2d_usad_t(int8_t *scratch, const uint8_t *weights, int32_t row_bytes, int32_t stride_h,
    int32_t stride_w, int32_t dilation_h, int32_t dilation_w, int32_t pad_top, int32_t pad_left,
    int32_t input_offset, int32_t output_offset, int32_t fold, int32_t act_min, int32_t act_max, const int16_t *mult,
    const int8_t *shift, int32_t rq_words, int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c,
    const int8_t *input, int32_t filter_h, int32_t filter_w, const int32_t *bias, int32_t out_h, int32_t out_w,
    int32_t out_c, int8_t *output)
{
    const int32_t n = filter_h * filter_w * in_c, k4 = (n + 3) >> 2;
    const int32_t pairs = (out_c + 1) >> 1;
    if ((rq_words != TG_RQ_RS && rq_words != TG_RQ_GEN) || bias == NULL || row_bytes < k4) {
        return TG_ERROR;
    }
    int32_t *quant = (int32_t *)(void *)scratch; /* a pair: 2 biases, then 2 records of rq_words - 1 */
    uint32_t *masks = (uint32_t *)(void *)(quant + pairs * 2 * rq_words);
    uint32_t *col = masks + pairs * 4 * k4; /* 2 * k4 words interleaved, then A's and B's windows */
    int8_t *spare = (int8_t *)(void *)(col + 4 * k4); /* the outputs of a lone last pixel's partner */
    for (int32_t ch = 0; ch < pairs * 2; ++ch) {
        /* the accumulator is twice int8's: the same product with mult halved, or one left shift less */
        int32_t m = 0, s = -1, b = 0;
        if (ch < out_c) {
            m = tg_lb_mult(mult, shift, ch);
            s = tg_lb_shift(shift, ch);
            b = bias[ch];
        }
        if (s >= 1) {
            s -= 1;
        } else {
            m >>= 1;
        }
        int32_t *pair = quant + (ch >> 1) * 2 * rq_words;
        pair[ch & 1] = b;
        tg_lbx_rec_words(pair + 2 + (ch & 1) * (rq_words - 1), rq_words, m, s, fold ? output_offset : 0);
        if (ch >= out_c) {
            break;
        }
        uint32_t *w = masks + (ch >> 1) * 4 * k4 + (ch & 1) * 2;
        usad3_masks(weights + ch * row_bytes, k4, w);
    }
    if (out_c & 1) { /* the pair's second row: zero masks, its outputs are not stored */
        uint32_t *w = masks + (out_c >> 1) * 4 * k4 + 2;
        for (int32_t g = 0; g < k4; ++g) {
            w[4 * g] = 0;
            w[4 * g + 1] = 0;
        }
    }
    const int32_t pixels = batches * out_h * out_w;
    if (fold) {
        output_offset = 0;
    }
    if (filter_h == 1 && filter_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 && pad_left == 0 &&
        out_h == in_h && out_w == in_w) { /* 1x1: a pixel's input is its column */
        for (int32_t p = 0; p < pixels; p += 2, input += 2 * in_c, output += 2 * out_c) {
            const int last = p + 1 == pixels;
            usad3_column(input, last ? input : input + in_c, in_c, col);
            usad3_run(col, k4, masks, quant, rq_words, output_offset, act_min, act_max, out_c, output,
                      last ? spare : output + out_c);
        }
        return TG_OK;
    }
    const usad_geo g = {stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, in_h, in_w, in_c, filter_h,
                        filter_w};
    const uint8_t pu = (uint8_t)((128 - input_offset) & 0xFF); /* u of the input zero point */
    const int32_t per = out_h * out_w, img = in_h * in_w * in_c;
    uint32_t *wa = col + 2 * k4, *wb = wa + k4;
    for (int32_t p = 0; p < pixels; p += 2, output += 2 * out_c) {
        const int last = p + 1 == pixels;
        for (int32_t j = 0; j < (last ? 1 : 2); ++j) {
            const int32_t q = p + j, b = q / per, oy = (q % per) / out_w, ox = q % out_w;
            if ((in_c & 3) == 0) { /* whole words: straight into the interleaved column */
                usad3_window(&g, input + b * img, oy, ox, pu * 0x01010101u, col + j);
                continue;
            }
            uint32_t *win = j == 0 ? wa : wb;
            win[k4 - 1] = 0; /* the bytes past n stay 0 */
            usad_window(&g, input + b * img, oy, ox, pu, (int8_t *)(void *)win);
            for (int32_t k = 0; k < k4; ++k) {
                col[2 * k + j] = win[k];
            }
        }
        if (last) { /* a lone last pixel: its partner's column is its own */
            for (int32_t k = 0; k < k4; ++k) {
                col[2 * k + 1] = col[2 * k];
            }
        }
        usad3_run(col, k4, masks, quant, rq_words, output_offset, act_min, act_max, out_c, output,
                  last ? spare : output + out_c);
    }
    return TG_OK;
}

int32_t tg_conv2d_usad_t_get_buffer_size(int32_t rq_words, int32_t filter_h, int32_t filter_w, int32_t in_c,
                                         int32_t out_c)
{
    const int32_t k4 = (filter_h * filter_w * in_c + 3) >> 2, pairs = (out_c + 1) >> 1;
    return pairs * 8 * rq_words + pairs * 16 * k4 + 16 * k4 + ((out_c + 3) & ~3);
}
