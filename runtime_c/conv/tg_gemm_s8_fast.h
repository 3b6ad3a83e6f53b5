/* tinygen runtime: the int8 GEMM core of the fast conv and fully-connected kernels.
 *
 * For one column of 4*k4 raw int8 values (any alignment; padding taps hold the input zero point) and
 * every output channel oc < out_c:
 *   acc = bias[oc] + sum over k of filter[oc][k] * col[k]
 *   out[oc] = clamp(requantize(acc, record oc) + output_offset, act_min, act_max)
 * The input offset is folded into bias offline (bias[oc] += input_offset * sum_k filter[oc][k]).
 * quant holds rq_words (TG_RQ_RS or TG_RQ_GEN, tg_dsp.h) int32 per channel, channels padded to 4.
 * Filter rows are padded with zeros to 4*k4 values and to a multiple of 4 rows, and stored in blocks
 * of 4 rows; per block, per group of 4 values k..k+3, for rows r = 0..3:
 *   wide = 0: the 4 bytes of row r (one int32 word)
 *   wide = 1: two int32 words, (w[k] | w[k+2] << 16) and (w[k+1] | w[k+3] << 16) as int16 pairs
 *             (pre-extended: twice the flash, no sign extension in the loop)
 *   wide = 2 (split; one segment only, taps == 1): one word per row, bytes
 *             (w[k+1] ^ 0x80, w[k], w[k+3] ^ 0x80, w[k+2]); with the input word v = col[k..k+3] the
 *             loop adds SMLAD(word, SXTB16(v ROR 8)) + SMLAD(SXTB16(word ROR 8), v ^ 0xFF80FF80)
 *             = sum_j w[k+j] col[k+j] + 128 (col[k+1] + col[k+3]) - 128 (w[k] + w[k+2]):
 *             one sign extension per weight word instead of two. The lowering adds
 *             128 * (sum of the even-indexed weights) to each bias; the kernel subtracts
 *             128 * (sum of the odd-indexed inputs), once per call.
 * (tinygen/kernels/fast.py: pack_gemm_rows). No scratch.
 *
 * tg_gemm_s8_fast_taps: the same with the column given as `taps` segments of 4*seg4 values each
 * (a convolution window read in place: tap pointers into the input, k = tap * 4*seg4 + value).
 *
 * tg_gemm_s8_fast_x: the same (wide = 1 or 2 only) on a column extended once by tg_gemm_s8_extend
 * (two words per group of 4 values, word aligned), so that the 4-row blocks share its sign
 * extension: per group one LDRD of the column instead of a load and two extensions in every block.
 * tg_gemm_s8_extend writes the 2*k4 words of src's 4*k4 values in the layout `wide` needs and
 * returns the correction to pass as corr (wide = 2: -128 * the sum of the odd-indexed inputs,
 * wrapping; wide = 1: 0). Calls may append segments: the corrections of the segments add up.
 */
#ifndef TG_GEMM_S8_FAST_H
#define TG_GEMM_S8_FAST_H

#include "tg_common.h"
#include "tg_dsp.h"

void tg_gemm_s8_fast(const int8_t *col, int32_t k4, const int32_t *filter, int32_t wide, const int32_t *quant,
    int32_t rq_words, int32_t output_offset, int32_t act_min, int32_t act_max, int32_t out_c, int8_t *out);

void tg_gemm_s8_fast_taps(const int8_t *const *tap, int32_t taps, int32_t seg4, const int32_t *filter,
    int32_t wide, const int32_t *quant, int32_t rq_words, int32_t output_offset, int32_t act_min,
    int32_t act_max, int32_t out_c, int8_t *out);

/* The `wide` value by which the conv kernels (tg_conv2d_s8_fast, tg_inplace_conv1x1_s8_fast) are told
 * to extend each column into scratch and run tg_gemm_s8_fast_x on it (weights packed as for wide = 1). */
#define TG_GEMM_EXTEND 3

void tg_gemm_s8_fast_x(const uint32_t *colx, int32_t k4, const int32_t *filter, int32_t wide, uint32_t corr,
    const int32_t *quant, int32_t rq_words, int32_t output_offset, int32_t act_min, int32_t act_max,
    int32_t out_c, int8_t *out);

/* tg_gemm_s8_fast_x over `pixels` columns of 4*k4 values each at input (in place capable: pixel p's
 * outputs at output + p * out_c are written after its column is extended into colx; backward != 0 runs
 * the pixels last first), weights packed for wide = 1. */
void tg_gemm_s8_fast_x_pixels(uint32_t *colx, const int8_t *input, int32_t pixels, int32_t backward, int32_t k4,
    const int32_t *filter, const int32_t *quant, int32_t rq_words, int32_t output_offset, int32_t act_min,
    int32_t act_max, int32_t out_c, int8_t *output);

/* tg_gemm_s8_fast_x (wide = 1, k4 = 7) over `pixels` 3x3 windows of a 3-channel input (an image model's
 * first layer, tg_conv2d_s8_fast_rgb.h): pixel n's window rows start at p + n * step, p + n * step + row
 * and p + n * step + 2 * row (9 bytes each); each is extended by tg_gemm_s8_rgb_extend into colx (14 words),
 * then its out_c outputs are written at out + n * out_c. */
void tg_gemm_s8_fast_x_rgb(uint32_t *colx, const int8_t *p, int32_t pixels, int32_t step, int32_t row,
    const int32_t *filter, const int32_t *quant, int32_t rq_words, int32_t output_offset, int32_t act_min,
    int32_t act_max, int32_t out_c, int8_t *out);

/* Bytes 0..7 of a window row at p as 4 words of int16 pairs: (b0, b2) (b1, b3) (b4, b6) (b5, b7) */
static inline void tg_gemm_s8_rgb_row(const int8_t *p, uint32_t *x)
{
    const uint32_t v = tg_read_u32(p), u = tg_read_u32(p + 4);
    x[0] = tg_sxtb16(v);
    x[1] = tg_sxtb16_r8(v);
    x[2] = tg_sxtb16(u);
    x[3] = tg_sxtb16_r8(u);
}

/* The 14 extended words of a 3x3 window of 3 channels whose rows (9 bytes each) start at p, p + row and
 * p + 2 * row: each row's bytes 0..7 (tg_gemm_s8_rgb_row), then (r0 b8, r1 b8) (r2 b8, 0) */
static inline void tg_gemm_s8_rgb_extend(const int8_t *p, int32_t row, uint32_t *x)
{
    const int8_t *p1 = p + row, *p2 = p1 + row;
    tg_gemm_s8_rgb_row(p, x);
    tg_gemm_s8_rgb_row(p1, x + 4);
    tg_gemm_s8_rgb_row(p2, x + 8);
    x[12] = ((uint32_t)(int32_t)p[8] & 0xFFFFu) | ((uint32_t)(int32_t)p1[8] << 16);
    x[13] = (uint32_t)(int32_t)p2[8] & 0xFFFFu;
}

/* wide = 1: (values 0, 2 as int16 | 1, 3 as int16); wide = 2: (values 1, 3 as int16 | v ^ 0xFF80FF80) */
static inline uint32_t tg_gemm_s8_extend(const int8_t *src, int32_t k4, int32_t wide, uint32_t *dst)
{
    if (wide == 2) {
        int32_t odd = 0;
        for (int32_t k = 0; k < k4; ++k, src += 4, dst += 2) {
            const uint32_t v = tg_read_u32(src), xa = tg_sxtb16_r8(v);
            dst[0] = xa;
            dst[1] = v ^ 0xFF80FF80u;
            odd = tg_smlad(xa, 0x00010001u, odd);
        }
        return (uint32_t)odd * 0xFFFFFF80u;
    }
    if (k4 & 1) {
        const uint32_t v = tg_read_u32(src);
        dst[0] = tg_sxtb16(v);
        dst[1] = tg_sxtb16_r8(v);
        src += 4;
        dst += 2;
    }
    for (int32_t k = 0; k < (k4 >> 1); ++k, src += 8, dst += 4) { /* two groups per iteration */
        const uint32_t v = tg_read_u32(src), u = tg_read_u32(src + 4);
        dst[0] = tg_sxtb16(v);
        dst[1] = tg_sxtb16_r8(v);
        dst[2] = tg_sxtb16(u);
        dst[3] = tg_sxtb16_r8(u);
    }
    return 0u;
}

#endif /* TG_GEMM_S8_FAST_H */
