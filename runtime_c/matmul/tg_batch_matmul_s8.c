/* tinygen runtime: int8 BATCH_MATMUL; contract in tg_batch_matmul.h, packing in tg_batch_matmul_s8_pack.h.
 *
 * One lhs row against one packed quad of columns at a time: 4 lhs bytes become two int16-lane words (SXTB16,
 * SXTB16 ROR 8), each multiplied by the quad's 8 packed (R - rhs_zp) words with SMLAD, so the 4 sums are
 * sum_k L[a][k] * (R[k][c] - rhs_zp) in wrapping int32; subtracting lhs_zp * (column sum) gives TFLM's
 * sum of (L - lhs_zp) * (R - rhs_zp) modulo 2^32.
 */
#include "tg_batch_matmul.h"

#include "tg_batch_matmul_s8_pack.h"
#include "tg_dsp.h"
#include "tg_smlad_quad.h"

int32_t tg_batch_matmul_s8_get_buffer_size(int32_t rows, int32_t depth, int32_t cols, int32_t lhs_t,
    int32_t rhs_layout)
{
    const int32_t pack = rhs_layout == TG_BMM_PACKED ? 0 : 4 * TG_BMM_PACK_WORDS(depth, cols);
    return pack + (lhs_t ? rows * depth : 0);
}

static int32_t tg_bmm_pair16(int32_t lo, int32_t hi)
{
    return (int32_t)(((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16));
}

/* the low / high int16 half of a packed word */
static int32_t tg_bmm_lo16(uint32_t y)
{
    return (int32_t)(y & 0xFFFFu) - (int32_t)((y & 0x8000u) << 1);
}

static int32_t tg_bmm_hi16(uint32_t y)
{
    return (int32_t)(y >> 16) - (int32_t)((y >> 15) & 0x10000u);
}

/* The first 4 * k4 values of 4 whole columns packed (8 words per group of 4 values of k, at w) and their sums
 * (sum[0..3]): R[k][c] at base[k * ks + c * cs], either columns contiguous along k (ks == 1: one word gives a
 * column's two packed words) or rows contiguous along c (cs == 1: 4 row words give the quad's 8). SXTAB16 adds
 * -zp (zoff, both lanes) while sign-extending; SMLAD with 1 | 1 << 16 adds a word's two halves to a sum. */
static void tg_bmm_pack_groups(const int8_t *base, int32_t ks, int32_t cs, int32_t k4, uint32_t zoff, int32_t *w,
                               int32_t *sum)
{
    const uint32_t ones = 0x00010001u;
    int32_t s[4] = {0, 0, 0, 0};
    for (int32_t g = 0; g < k4; ++g, w += 8) {
        uint32_t u[8];
        if (ks == 1) {
            for (int32_t j = 0; j < 4; ++j) {
                const uint32_t r = tg_read_u32(base + j * cs + 4 * g);
                u[2 * j] = tg_sxtab16(zoff, r);
                u[2 * j + 1] = tg_sxtab16_r8(zoff, r);
            }
        } else {
            const int8_t *p = base + 4 * g * ks;
            const uint32_t r0 = tg_read_u32(p), r1 = tg_read_u32(p + ks);
            const uint32_t r2 = tg_read_u32(p + 2 * ks), r3 = tg_read_u32(p + 3 * ks);
            const uint32_t e0 = tg_sxtab16(zoff, r0), e1 = tg_sxtab16(zoff, r1), e2 = tg_sxtab16(zoff, r2);
            const uint32_t e3 = tg_sxtab16(zoff, r3), o0 = tg_sxtab16_r8(zoff, r0), o1 = tg_sxtab16_r8(zoff, r1);
            const uint32_t o2 = tg_sxtab16_r8(zoff, r2), o3 = tg_sxtab16_r8(zoff, r3);
            u[0] = (e0 & 0xFFFFu) | (e2 << 16); /* column 0: values k, k+2 */
            u[1] = (e1 & 0xFFFFu) | (e3 << 16); /* column 0: values k+1, k+3 */
            u[2] = (o0 & 0xFFFFu) | (o2 << 16);
            u[3] = (o1 & 0xFFFFu) | (o3 << 16);
            u[4] = (e0 >> 16) | (e2 & 0xFFFF0000u);
            u[5] = (e1 >> 16) | (e3 & 0xFFFF0000u);
            u[6] = (o0 >> 16) | (o2 & 0xFFFF0000u);
            u[7] = (o1 >> 16) | (o3 & 0xFFFF0000u);
        }
        for (int32_t j = 0; j < 4; ++j) {
            w[2 * j] = (int32_t)u[2 * j];
            w[2 * j + 1] = (int32_t)u[2 * j + 1];
            s[j] = tg_smlad(u[2 * j], ones, s[j]);
            s[j] = tg_smlad(u[2 * j + 1], ones, s[j]);
        }
    }
    for (int32_t j = 0; j < 4; ++j) {
        sum[j] = s[j];
    }
}

/* R[k][c] sits at rhs[k * ks + c * cs] (ks == 1 or cs == 1) */
static void tg_bmm_pack_s8(const int8_t *rhs, int32_t ks, int32_t cs, int32_t depth, int32_t cols, int32_t zp,
                           int32_t *out)
{
    const int32_t cq = (cols + 3) / 4 * 4, k4 = depth >> 2, quad_words = TG_BMM_QUAD_WORDS(depth);
    const uint32_t zoff = ((uint32_t)(-zp) & 0xFFFFu) * 0x00010001u;
    for (int32_t q = 0; q < cq; q += 4) {
        const int8_t *col[4];
        for (int32_t j = 0; j < 4; ++j) {
            col[j] = rhs + (q + j < cols ? q + j : cols - 1) * cs;
        }
        int32_t *w = out + cq + q / 4 * quad_words;
        int32_t k0 = 0;
        if (q + 4 <= cols) { /* whole quad: the groups on the word path */
            tg_bmm_pack_groups(col[0], ks, cs, k4, zoff, w, out + q);
            w += 8 * k4;
            k0 = 4 * k4;
        } else {
            for (int32_t j = 0; j < 4; ++j) {
                out[q + j] = 0;
            }
        }
        for (int32_t k = k0; k < 4 * k4; k += 4) {
            for (int32_t j = 0; j < 4; ++j) {
                const int8_t *p = col[j] + k * ks;
                *w++ = tg_bmm_pair16(p[0] - zp, p[2 * ks] - zp);
                *w++ = tg_bmm_pair16(p[ks] - zp, p[3 * ks] - zp);
            }
        }
        for (int32_t k = 4 * k4; k < depth; ++k) {
            *w++ = tg_bmm_pair16(col[0][k * ks] - zp, col[1][k * ks] - zp);
            *w++ = tg_bmm_pair16(col[2][k * ks] - zp, col[3][k * ks] - zp);
        }
        for (int32_t j = 0; j < 4; ++j) {
            for (int32_t k = k0; k < depth; ++k) {
                out[q + j] += col[j][k * ks] - zp;
            }
        }
    }
}

/* acc[j] = sum_k x[k] * v[k][c_j] over one packed quad w */
TG_ALWAYS_INLINE void tg_bmm_quad_s8(const int8_t *x, const int32_t *w, int32_t depth, int32_t *acc)
{
    acc[0] = acc[1] = acc[2] = acc[3] = 0;
    if (depth >= 4) {
        w = tg_quad_groups(x, w, depth >> 2, acc, 1); /* 15 instructions per 16 MACs */
        x += depth & ~3;
    }
    for (int32_t t = depth & 3; t > 0; --t) {
        const int32_t u = *x++;
        const uint32_t y01 = (uint32_t)w[0], y23 = (uint32_t)w[1];
        w += 2;
        acc[0] = (int32_t)((uint32_t)acc[0] + (uint32_t)(u * tg_bmm_lo16(y01)));
        acc[1] = (int32_t)((uint32_t)acc[1] + (uint32_t)(u * tg_bmm_hi16(y01)));
        acc[2] = (int32_t)((uint32_t)acc[2] + (uint32_t)(u * tg_bmm_lo16(y23)));
        acc[3] = (int32_t)((uint32_t)acc[3] + (uint32_t)(u * tg_bmm_hi16(y23)));
    }
}

/* src [n][m] row-major -> dst [m][n] */
static void tg_bmm_transpose_s8(const int8_t *src, int32_t n, int32_t m, int8_t *dst)
{
    for (int32_t i = 0; i < n; ++i) {
        for (int32_t j = 0; j < m; ++j) {
            dst[j * n + i] = src[i * m + j];
        }
    }
}

/* one output before saturation: acc - lhs_zp * (column sum), requantized, + out_zp. rs: shift < 0, then
 * tg_requantize_rs(s, mult, -shift) with its rounding constant hoisted (round = 2^30 + 2^(30 - shift)) */
TG_ALWAYS_INLINE int32_t tg_bmm_rq(int32_t acc, int32_t sum, int32_t lhs_zp, int32_t mult, int32_t shift,
                                   int32_t out_zp, int32_t rs, int64_t round)
{
    const int32_t s = (int32_t)((uint32_t)acc - (uint32_t)lhs_zp * (uint32_t)sum);
    if (rs) {
        const int64_t prod = (int64_t)s * mult + round - ((int64_t)(s < 0) << 31);
        return ((int32_t)(prod >> 32) >> (-shift - 1)) + out_zp;
    }
    return tg_requantize(s, mult, shift) + out_zp;
}

/* one product: rows of L against every quad of the packed P (rs constant per call site) */
TG_ALWAYS_INLINE void tg_bmm_rows_s8(const int8_t *L, const int32_t *P, int32_t rows, int32_t depth, int32_t cols,
                                     int32_t lhs_zp, int32_t out_zp, int32_t mult, int32_t shift, int8_t *out,
                                     int32_t rs)
{
    const int32_t cq = (cols + 3) / 4 * 4, quad_words = TG_BMM_QUAD_WORDS(depth);
    const int64_t round = rs ? ((int64_t)1 << 30) + ((int64_t)1 << (30 - shift)) : 0;
    for (int32_t a = 0; a < rows; ++a, L += depth, out += cols) {
        const int32_t *w = P + cq;
        for (int32_t q = 0; q < cq; q += 4, w += quad_words) {
            int32_t acc[4];
            tg_bmm_quad_s8(L, w, depth, acc);
            const int32_t v0 = tg_bmm_rq(acc[0], P[q], lhs_zp, mult, shift, out_zp, rs, round);
            const int32_t v1 = tg_bmm_rq(acc[1], P[q + 1], lhs_zp, mult, shift, out_zp, rs, round);
            const int32_t v2 = tg_bmm_rq(acc[2], P[q + 2], lhs_zp, mult, shift, out_zp, rs, round);
            const int32_t v3 = tg_bmm_rq(acc[3], P[q + 3], lhs_zp, mult, shift, out_zp, rs, round);
            if (q + 4 <= cols) {
                tg_sat4_store(v0, v1, v2, v3, -128, 127, out + q);
            } else {
                const int32_t v[4] = {v0, v1, v2, v3};
                for (int32_t j = 0; q + j < cols; ++j) {
                    out[q + j] = (int8_t)tg_clamp(v[j], -128, 127);
                }
            }
        }
    }
}

static void tg_bmm_product_s8(const int8_t *L, const int32_t *P, int32_t rows, int32_t depth, int32_t cols,
                              int32_t lhs_zp, int32_t out_zp, int32_t mult, int32_t shift, int8_t *out)
{
    if (shift < 0) {
        tg_bmm_rows_s8(L, P, rows, depth, cols, lhs_zp, out_zp, mult, shift, out, 1);
    } else {
        tg_bmm_rows_s8(L, P, rows, depth, cols, lhs_zp, out_zp, mult, shift, out, 0);
    }
}

int tg_batch_matmul_s8(int8_t *scratch, int32_t batches, const int32_t *batch_offsets, int32_t rows, int32_t depth,
    int32_t cols, int32_t lhs_t, int32_t rhs_layout, int32_t lhs_zp, int32_t rhs_zp, int32_t out_zp, int32_t mult,
    int32_t shift, const int8_t *lhs, const int8_t *rhs, const int32_t *rhs_packed, int8_t *output)
{
    int32_t *pack_buf = (int32_t *)(void *)scratch; /* the arena aligns scratch */
    int8_t *lhs_buf = scratch + (rhs_layout == TG_BMM_PACKED ? 0 : 4 * TG_BMM_PACK_WORDS(depth, cols));
    const int32_t ks = rhs_layout == TG_BMM_RAW_CK ? 1 : cols, cs = rhs_layout == TG_BMM_RAW_CK ? depth : 1;
    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *L = lhs + batch_offsets[2 * b];
        const int32_t *P;
        if (rhs_layout == TG_BMM_PACKED) {
            P = rhs_packed + batch_offsets[2 * b + 1];
        } else {
            tg_bmm_pack_s8(rhs + batch_offsets[2 * b + 1], ks, cs, depth, cols, rhs_zp, pack_buf);
            P = pack_buf;
        }
        if (lhs_t) {
            tg_bmm_transpose_s8(L, depth, rows, lhs_buf);
            L = lhs_buf;
        }
        tg_bmm_product_s8(L, P, rows, depth, cols, lhs_zp, out_zp, mult, shift, output + b * rows * cols);
    }
    return TG_OK;
}
