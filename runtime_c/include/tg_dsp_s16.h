/* tinygen runtime: the SIMD (Armv7E-M DSP) pieces of the 16x8 conv / depthwise / fully connected
 * kernels (int16 activations, int8 weights). Only the device path (TG_HAS_DSP, see tg_dsp.h) uses them;
 * the portable path of those kernels is plain C. Under TG_EMULATE_DSP each instruction is its C model.
 *
 *   tg_pkhbt16(a, b)   a[15:0] | b[15:0] << 16                 PKHBT a, b, LSL #16
 *   tg_pkhtb16(a, b)   a[31:16] << 16 | b[31:16]               PKHTB a, b, ASR #16
 *   tg_smlatb(a,b,acc) acc + a.hi*b.lo;  tg_smlabt: acc + a.lo*b.hi   SMLATB / SMLABT
 *
 * Exactness. Every product of an int16 activation and an int8 weight lies in [-2^22 + 2^15, 2^22], so
 * a sum of at most TG_S16_CHUNK = 256 of them lies within +-2^30: the int32 SMLAD / SMLAxy accumulators
 * below hold such a chunk exactly (intermediate wraps cancel: the arithmetic is mod 2^32 and the final
 * value is in range), and each chunk is then added to the int64 accumulator TFLM uses. The sums are
 * the same integers as the portable int64 loops, so the requantized outputs are identical.
 *
 * The dot products (tg_dot4p_s16x8: four output channels over inputs paired once by tg_pair_s16;
 * tg_dot3_s16x8: three sharing each input load; tg_dot1_s16x8: one) take the inputs as pairs (x0, x2),
 * (x1, x3) so that one word of four int8 weights gives the matching pairs with SXTB16 and SXTB16 ROR #8.
 * tg_acc_s16 chains runs of inputs (the taps of a window) into int32 sums, emptied into int64 every
 * TG_S16_CHUNK products.
 */
#ifndef TG_DSP_S16_H
#define TG_DSP_S16_H

#include "tg_dsp.h"
#include "tg_requant_s16.h"

#define TG_S16_CHUNK 256

#if TG_DSP_EMULATED

static inline uint32_t tg_pkhbt16(uint32_t a, uint32_t b)
{
    return tg_emu_pkhbt(a, b, 16); /* PKHBT a, b, LSL #16 */
}

static inline uint32_t tg_pkhtb16(uint32_t a, uint32_t b)
{
    return tg_emu_pkhtb(a, b, 16); /* PKHTB a, b, ASR #16 */
}

static inline int32_t tg_smlatb(uint32_t a, uint32_t b, int32_t acc)
{
    return tg_emu_s32((uint32_t)acc + (uint32_t)(tg_emu_lo16(a >> 16) * tg_emu_lo16(b))); /* SMLATB */
}

static inline int32_t tg_smlabt(uint32_t a, uint32_t b, int32_t acc)
{
    return tg_emu_s32((uint32_t)acc + (uint32_t)(tg_emu_lo16(a) * tg_emu_lo16(b >> 16))); /* SMLABT */
}

#elif TG_HAS_DSP

static inline uint32_t tg_pkhbt16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline uint32_t tg_pkhtb16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline int32_t tg_smlatb(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlatb((int32_t)a, (int32_t)b, acc);
}

static inline int32_t tg_smlabt(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlabt((int32_t)a, (int32_t)b, acc);
}

#endif

#if TG_HAS_DSP

/* tg_finish_s16 (tg_requant_s16.h), the same value with fewer instructions: for total_shift = 15 - shift
 * <= 31 (every multiplier above 2^-16) the low 32 bits of (x * reduced + 2^(total_shift - 1)) >>
 * total_shift are taken from the two words of the sum with 32-bit shifts (bits total_shift ..
 * total_shift + 31 <= 62 of the sum, so the arithmetic shift's sign fill never reaches them); larger
 * shifts go through tg_requantize64. Same preconditions as tg_requantize64. */
TG_ALWAYS_INLINE int16_t tg_finish_s16_dsp(int64_t acc, const int64_t *bias, int32_t c, const int32_t *mult,
                                           const int32_t *shift, int32_t per_channel, int32_t act_min,
                                           int32_t act_max)
{
    if (bias != NULL) {
        acc += bias[c];
    }
    const int32_t k = per_channel ? c : 0;
    const int32_t m = mult[k];
    const int32_t total_shift = 15 - shift[k];
    int32_t r;
    if (total_shift <= 31) {
        /* (m + 2^15) >> 16, saturated at 0x7FFF (reached only at 0x8000, for m >= 0x7FFF8000) */
        uint32_t q = ((uint32_t)m + 0x8000u) >> 16;
        q -= q >> 15;
        const int64_t reduced = (int64_t)q;
        const uint64_t sum = (uint64_t)(acc * reduced) + ((uint32_t)1 << (total_shift - 1));
        const uint32_t lo = (uint32_t)sum >> total_shift;
        const uint32_t hi = (uint32_t)(sum >> 32) << (32 - total_shift);
        r = (int32_t)(lo | hi);
    } else {
        r = tg_requantize64(acc, m, shift[k]);
    }
    return (int16_t)tg_clamp(r, act_min, act_max);
}

/* The output step of a layer: bias (may be NULL), multipliers and shifts (per channel when per_channel),
 * fused-activation clamp. */
typedef struct {
    const int64_t *bias;
    const int32_t *mult;
    const int32_t *shift;
    int32_t per_channel;
    int32_t act_min;
    int32_t act_max;
} tg_s16_out;

/* a[j] += sum_{i<n} x[i] * w[j * stride + i] for j < 3, int32: n <= TG_S16_CHUNK (see above). Three
 * channels keep every pointer and sum of the loop in registers on a Cortex-M4; on the device the loop
 * over groups of four inputs is one assembly block (GCC spills the C one), elsewhere its C model. */
TG_ALWAYS_INLINE void tg_dot3_s16x8(const int16_t *x, const int8_t *w, ptrdiff_t stride, int32_t n, int32_t *a)
{
    const int8_t *w1 = w + stride;
    const int8_t *w2 = w1 + stride;
    int32_t a0 = a[0], a1 = a[1], a2 = a[2];
    const int16_t *end = x + (n & ~3);
#if TG_DSP_EMULATED
    while (x != end) {
        const uint32_t xa = tg_read_u32(x);
        const uint32_t xb = tg_read_u32(x + 2);
        const uint32_t x02 = tg_pkhbt16(xa, xb);
        const uint32_t x13 = tg_pkhtb16(xb, xa);
        uint32_t v = tg_read_u32(w);
        a0 = tg_smlad(x13, tg_sxtb16_r8(v), tg_smlad(x02, tg_sxtb16(v), a0));
        v = tg_read_u32(w1);
        a1 = tg_smlad(x13, tg_sxtb16_r8(v), tg_smlad(x02, tg_sxtb16(v), a1));
        v = tg_read_u32(w2);
        a2 = tg_smlad(x13, tg_sxtb16_r8(v), tg_smlad(x02, tg_sxtb16(v), a2));
        x += 4;
        w += 4;
        w1 += 4;
        w2 += 4;
    }
#else
    if (x != end) {
        uint32_t xa, xb, t, e;
        __asm__("1:\n\t"
                "ldr %[xa], [%[x]], #4\n\t"
                "ldr %[xb], [%[x]], #4\n\t"
                "pkhbt %[t], %[xa], %[xb], lsl #16\n\t"
                "pkhtb %[xb], %[xb], %[xa], asr #16\n\t"
                "ldr %[xa], [%[w0]], #4\n\t"
                "sxtb16 %[e], %[xa]\n\t"
                "smlad %[a0], %[t], %[e], %[a0]\n\t"
                "sxtb16 %[e], %[xa], ror #8\n\t"
                "smlad %[a0], %[xb], %[e], %[a0]\n\t"
                "ldr %[xa], [%[w1]], #4\n\t"
                "sxtb16 %[e], %[xa]\n\t"
                "smlad %[a1], %[t], %[e], %[a1]\n\t"
                "sxtb16 %[e], %[xa], ror #8\n\t"
                "smlad %[a1], %[xb], %[e], %[a1]\n\t"
                "ldr %[xa], [%[w2]], #4\n\t"
                "sxtb16 %[e], %[xa]\n\t"
                "smlad %[a2], %[t], %[e], %[a2]\n\t"
                "sxtb16 %[e], %[xa], ror #8\n\t"
                "smlad %[a2], %[xb], %[e], %[a2]\n\t"
                "cmp %[x], %[end]\n\t"
                "bne 1b"
                : [x] "+r"(x), [w0] "+r"(w), [w1] "+r"(w1), [w2] "+r"(w2), [a0] "+r"(a0), [a1] "+r"(a1),
                  [a2] "+r"(a2), [xa] "=&r"(xa), [xb] "=&r"(xb), [t] "=&r"(t), [e] "=&r"(e)
                : [end] "r"(end)
                : "cc", "memory");
    }
#endif
    for (int32_t i = 0; i < (n & 3); ++i) {
        const int32_t xi = x[i];
        a0 += xi * w[i];
        a1 += xi * w1[i];
        a2 += xi * w2[i];
    }
    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
}

/* pairs[2g] = (x[4g], x[4g+2]), pairs[2g+1] = (x[4g+1], x[4g+3]) for g < n / 4: the inputs as the dot
 * products pair them, made once for the many output channels that read them (tg_dot4p_s16x8) */
static inline void tg_pair_s16(const int16_t *x, int32_t n, uint32_t *pairs)
{
    for (int32_t i = 0; i + 4 <= n; i += 4, pairs += 2) {
        const uint32_t xa = tg_read_u32(x + i);
        const uint32_t xb = tg_read_u32(x + i + 2);
        pairs[0] = tg_pkhbt16(xa, xb);
        pairs[1] = tg_pkhtb16(xb, xa);
    }
}

/* a[j] += sum_{i<n} x[i] * w[j * stride + i] for j < 4, int32 (n <= TG_S16_CHUNK), with the groups of
 * four inputs read from pairs (tg_pair_s16 of x, word aligned) and the last n % 4 from x. On the device
 * the loop is one assembly block keeping its end in memory: four sums, five pointers and four
 * temporaries take every other register. */
TG_ALWAYS_INLINE void tg_dot4p_s16x8(const uint32_t *pairs, const int16_t *x, const int8_t *w, ptrdiff_t stride,
                                     int32_t n, int32_t *a)
{
    const int8_t *w1 = w + stride;
    const int8_t *w2 = w1 + stride;
    const int8_t *w3 = w2 + stride;
    int32_t a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
    const uint32_t *end = pairs + 2 * (n >> 2);
#if TG_DSP_EMULATED
    while (pairs != end) {
        const uint32_t x02 = pairs[0];
        const uint32_t x13 = pairs[1];
        uint32_t v = tg_read_u32(w);
        a0 = tg_smlad(x13, tg_sxtb16_r8(v), tg_smlad(x02, tg_sxtb16(v), a0));
        v = tg_read_u32(w1);
        a1 = tg_smlad(x13, tg_sxtb16_r8(v), tg_smlad(x02, tg_sxtb16(v), a1));
        v = tg_read_u32(w2);
        a2 = tg_smlad(x13, tg_sxtb16_r8(v), tg_smlad(x02, tg_sxtb16(v), a2));
        v = tg_read_u32(w3);
        a3 = tg_smlad(x13, tg_sxtb16_r8(v), tg_smlad(x02, tg_sxtb16(v), a3));
        pairs += 2;
        w += 4;
        w1 += 4;
        w2 += 4;
        w3 += 4;
    }
#else
    if (pairs != end) {
        uint32_t xa, xb, t, e;
        __asm__("1:\n\t"
                "ldrd %[t], %[xb], [%[p]], #8\n\t"
                "ldr %[xa], [%[w0]], #4\n\t"
                "sxtb16 %[e], %[xa]\n\t"
                "smlad %[a0], %[t], %[e], %[a0]\n\t"
                "sxtb16 %[e], %[xa], ror #8\n\t"
                "smlad %[a0], %[xb], %[e], %[a0]\n\t"
                "ldr %[xa], [%[w1]], #4\n\t"
                "sxtb16 %[e], %[xa]\n\t"
                "smlad %[a1], %[t], %[e], %[a1]\n\t"
                "sxtb16 %[e], %[xa], ror #8\n\t"
                "smlad %[a1], %[xb], %[e], %[a1]\n\t"
                "ldr %[xa], [%[w2]], #4\n\t"
                "sxtb16 %[e], %[xa]\n\t"
                "smlad %[a2], %[t], %[e], %[a2]\n\t"
                "sxtb16 %[e], %[xa], ror #8\n\t"
                "smlad %[a2], %[xb], %[e], %[a2]\n\t"
                "ldr %[xa], [%[w3]], #4\n\t"
                "sxtb16 %[e], %[xa]\n\t"
                "smlad %[a3], %[t], %[e], %[a3]\n\t"
                "sxtb16 %[e], %[xa], ror #8\n\t"
                "smlad %[a3], %[xb], %[e], %[a3]\n\t"
                "ldr %[e], %[end]\n\t"
                "cmp %[p], %[e]\n\t"
                "bne 1b"
                : [p] "+r"(pairs), [w0] "+r"(w), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), [a0] "+r"(a0),
                  [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [xa] "=&r"(xa), [xb] "=&r"(xb), [t] "=&r"(t),
                  [e] "=&r"(e)
                : [end] "m"(end)
                : "cc", "memory");
    }
#endif
    const int32_t done = n & ~3;
    for (int32_t i = done; i < n; ++i) {
        const int32_t xi = x[i];
        a0 += xi * w[i - done];
        a1 += xi * w1[i - done];
        a2 += xi * w2[i - done];
        a3 += xi * w3[i - done];
    }
    a[0] = a0;
    a[1] = a1;
    a[2] = a2;
    a[3] = a3;
}

/* a += sum_{i<n} x[i] * w[i], int32: n <= TG_S16_CHUNK. */
TG_ALWAYS_INLINE int32_t tg_dot1_s16x8(const int16_t *x, const int8_t *w, int32_t n, int32_t a)
{
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t xa = tg_read_u32(x + i);
        const uint32_t xb = tg_read_u32(x + i + 2);
        const uint32_t v = tg_read_u32(w + i);
        a = tg_smlad(tg_pkhtb16(xb, xa), tg_sxtb16_r8(v), tg_smlad(tg_pkhbt16(xa, xb), tg_sxtb16(v), a));
    }
    for (; i < n; ++i) {
        a += (int32_t)x[i] * w[i];
    }
    return a;
}

/* The int32 partial sums of `lanes` (1 or 3) output channels, emptied into int64 totals before they
 * could hold more than TG_S16_CHUNK products. */
typedef struct {
    int32_t part[3];
    int64_t total[3];
    int32_t count;
    int32_t lanes;
} tg_acc_s16;

/* empty sums of three lanes (three != 0) or of one */
static inline void tg_acc_s16_init(tg_acc_s16 *s, int32_t three)
{
    for (int32_t j = 0; j < 3; ++j) {
        s->part[j] = 0;
        s->total[j] = 0;
    }
    s->count = 0;
    s->lanes = three ? 3 : 1;
}

static inline void tg_acc_s16_flush(tg_acc_s16 *s)
{
    for (int32_t j = 0; j < s->lanes; ++j) {
        s->total[j] += s->part[j];
        s->part[j] = 0;
    }
    s->count = 0;
}

/* s += the dot products of the run x[0..n) with the `lanes` filter rows at w, w + stride, ... */
static inline void tg_acc_s16_run(tg_acc_s16 *s, const int16_t *x, const int8_t *w, ptrdiff_t stride, int32_t n)
{
    while (n > 0) {
        if (s->count == TG_S16_CHUNK) {
            tg_acc_s16_flush(s);
        }
        const int32_t take = n < TG_S16_CHUNK - s->count ? n : TG_S16_CHUNK - s->count;
        if (s->lanes == 3) {
            tg_dot3_s16x8(x, w, stride, take, s->part);
        } else {
            s->part[0] = tg_dot1_s16x8(x, w, take, s->part[0]);
        }
        s->count += take;
        x += take;
        w += take;
        n -= take;
    }
}

#endif /* TG_HAS_DSP */

#endif /* TG_DSP_S16_H */
