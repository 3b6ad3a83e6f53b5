/* tinygen runtime: what tg_conv2d_usad.c (binary) and tg_conv2d_usad_t.c (ternary) share: the mask table,
 * USADA8 in C, the window gather and the mask decode (contract in tg_conv2d_usad.h). */
#ifndef TG_USAD_H
#define TG_USAD_H

#include "tg_conv2d_usad.h"
#include "tg_lowbit_dec.h"
#include "tg_dsp.h"

/* byte i of entry f: 0x00 when bit i of f is set (+1), else 0xFF (-1) */
static const uint32_t mask_tab[16] = {
    0xFFFFFFFFu, 0xFFFFFF00u, 0xFFFF00FFu, 0xFFFF0000u, 0xFF00FFFFu, 0xFF00FF00u, 0xFF0000FFu, 0xFF000000u,
    0x00FFFFFFu, 0x00FFFF00u, 0x00FF00FFu, 0x00FF0000u, 0x0000FFFFu, 0x0000FF00u, 0x000000FFu, 0x00000000u};

#if TG_DSP_EMULATED
/* USADA8: a + the sum of the 4 absolute differences of the unsigned bytes of x and y */
static inline uint32_t usad_emu(uint32_t x, uint32_t y, uint32_t a)
{
    for (int32_t i = 0; i < 32; i += 8) {
        const int32_t d = (int32_t)((x >> i) & 0xFFu) - (int32_t)((y >> i) & 0xFFu);
        a += (uint32_t)(d < 0 ? -d : d);
    }
    return a;
}
#endif

#if !TG_HAS_DSP
/* Without USADA8: a mask byte is 0x00 or 0xFF, so |u - m| = u ^ m, and the bytes of such words are summed
 * in two 16-bit lanes per word (SWAR): x's 4 bytes go into the lanes of the returned word, which the
 * caller adds up (usad_lanes) before a lane can pass 65535 */
#define TG_USAD_LANES 0x00FF00FFu
static inline uint32_t usad_bytes(uint32_t x)
{
    return (x & TG_USAD_LANES) + ((x >> 8) & TG_USAD_LANES);
}

static inline uint32_t usad_lanes(uint32_t s)
{
    return (s & 0xFFFFu) + (s >> 16);
}
#endif

#if defined(__GNUC__)
#define TG_USAD_NOINLINE __attribute__((noinline))
#else
#define TG_USAD_NOINLINE
#endif

/* The geometry of a general conv's windows */
typedef struct {
    int32_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left, in_h, in_w, in_c, filter_h, filter_w;
} usad_geo;

/* in_c bytes of one tap as u = x ^ 0x80 at dst */
static inline void usad_tap(const int8_t *x, int32_t in_c, int8_t *dst)
{
    int32_t i = 0;
    for (; i + 4 <= in_c; i += 4) {
        const uint32_t v = tg_read_u32(x + i) ^ 0x80808080u;
        memcpy(dst + i, &v, sizeof v);
    }
    for (; i < in_c; ++i) {
        dst[i] = (int8_t)(uint8_t)((uint8_t)x[i] ^ 0x80u);
    }
}

/* Output pixel (oy, ox)'s window in (fy, fx, ic) order as u bytes into win (filter_h * filter_w * in_c):
 * taps outside the input hold u of the input zero point, pu, whose products the folded bias cancels as
 * int8's do */
TG_ALWAYS_INLINE void usad_window(const usad_geo *g, const int8_t *in, int32_t oy, int32_t ox, uint8_t pu, int8_t *win)
{
    const int32_t row = g->filter_w * g->in_c;
    for (int32_t fy = 0; fy < g->filter_h; ++fy, win += row) {
        const int32_t iy = oy * g->stride_h - g->pad_top + fy * g->dilation_h;
        if (iy < 0 || iy >= g->in_h) {
            memset(win, pu, (size_t)row);
            continue;
        }
        const int8_t *x = in + iy * g->in_w * g->in_c;
        int32_t ix = ox * g->stride_w - g->pad_left;
        int8_t *dst = win;
        for (int32_t fx = 0; fx < g->filter_w; ++fx, ix += g->dilation_w, dst += g->in_c) {
            if (ix < 0 || ix >= g->in_w) {
                memset(dst, pu, (size_t)g->in_c);
            } else if (g->in_c == 1) {
                *dst = (int8_t)(uint8_t)((uint8_t)x[ix] ^ 0x80u);
            } else {
                usad_tap(x + ix * g->in_c, g->in_c, dst);
            }
        }
    }
}

/* Row p's masks (n values) at w, then every 4th word (row c & 3 of its block): a nibble per group */
TG_ALWAYS_INLINE void usad_masks(const uint8_t *p, int32_t n, uint32_t *w)
{
    const int32_t full = n >> 3;
    for (int32_t b = 0; b < full; ++b, w += 8) {
        w[0] = mask_tab[p[b] & 15u];
        w[4] = mask_tab[p[b] >> 4];
    }
    const int32_t r = n & 7;
    if (r != 0) { /* the last 1..7 values: masks of values past n are 0 (the column's bytes there are 0) */
        const uint32_t bits = p[full];
        const uint32_t m0 = mask_tab[bits & 15u], m1 = mask_tab[bits >> 4];
        w[0] = r >= 4 ? m0 : m0 & ((1u << (8 * r)) - 1u);
        if (r > 4) {
            w[4] = m1 & ((1u << (8 * (r - 4))) - 1u);
        }
    }
}

#endif /* TG_USAD_H */
