/* tinygen runtime: FULLY_CONNECTED with low-bit weights; contract and row formats in tg_lowbit.h. */
#include "tg_lowbit_core.h"

/* Sum over i < n of weight[start + i] * (x[i * x_stride] + input_offset) for one row.
 * TERNARY / BINARY: no multiplications; each value is added or subtracted by bit masks
 * ((v ^ -s) + s negates v when s = 1; & -nz drops it when nz = 0), walking the bit planes a
 * byte at a time. */
static inline int32_t row_dot(int32_t format, const int8_t *decoded, const uint8_t *row, int32_t plane_bytes,
                              int32_t start, const int8_t *x, int32_t x_stride, int32_t n, int32_t input_offset)
{
    int32_t acc = 0;
    if (format == TG_WF_TERNARY || format == TG_WF_BINARY) {
        const uint8_t *p_nz = row + (start >> 3);
        const uint8_t *p_neg = row + plane_bytes + (start >> 3);
        const int32_t ternary = format == TG_WF_TERNARY;
        uint32_t nz = ternary ? (uint32_t)*p_nz >> (start & 7) : 0xFFu;
        uint32_t sg = ternary ? (uint32_t)*p_neg >> (start & 7) : ~((uint32_t)*p_nz >> (start & 7));
        int32_t left = 8 - (start & 7);
        for (int32_t i = 0; i < n; ++i) {
            if (left == 0) {
                ++p_nz;
                nz = ternary ? (uint32_t)*p_nz : 0xFFu;
                sg = ternary ? (uint32_t)*++p_neg : ~(uint32_t)*p_nz;
                left = 8;
            }
            const int32_t v = x[i * x_stride] + input_offset;
            const int32_t s = (int32_t)(sg & 1u);
            acc += ((v ^ -s) + s) & -(int32_t)(nz & 1u);
            nz >>= 1;
            sg >>= 1;
            --left;
        }
    } else {
        const int8_t *w = decoded + start;
        int32_t i = 0;
        if (x_stride == 1) { /* 4 products per step: SXTAB16 adds the offset to two inputs at once */
            const uint32_t off2 = ((uint32_t)input_offset & 0xFFFFu) * 0x00010001u;
            for (; i + 4 <= n; i += 4) {
                const uint32_t xv = tg_read_u32(x + i);
                const uint32_t wv = tg_read_u32(w + i);
                acc = tg_smlad(tg_sxtab16(off2, xv), tg_sxtb16(wv), acc);
                acc = tg_smlad(tg_sxtab16_r8(off2, xv), tg_sxtb16_r8(wv), acc);
            }
        }
        for (; i < n; ++i) {
            acc += (x[i * x_stride] + input_offset) * w[i];
        }
    }
    return acc;
}

int tg_fully_connected_lb(int8_t *scratch, int32_t format, int32_t bits, const int8_t *codebook,
    const uint8_t *weights, int32_t row_bytes, int32_t input_offset, int32_t output_offset, int32_t act_min,
    int32_t act_max, const int16_t *mult, const int8_t *shift, int32_t batches, int32_t accum_depth,
    const int8_t *input, int32_t out_depth, const int32_t *bias, int8_t *output)
{
    if (!tg_lb_known_format(format, bits)) {
        return TG_ERROR;
    }
    const int32_t plane_bytes = row_bytes / 2;
    for (int32_t o = 0; o < out_depth; ++o) {
        const uint8_t *row = weights + o * row_bytes;
        (void)tg_lb_decode_row(format, bits, codebook, row, accum_depth, scratch);
        for (int32_t b = 0; b < batches; ++b) {
            const int32_t acc = row_dot(format, scratch, row, plane_bytes, 0, input + b * accum_depth, 1,
                                        accum_depth, input_offset);
            output[b * out_depth + o] = tg_lb_finish(acc, bias, o, mult, shift, output_offset, act_min,
                                                     act_max);
        }
    }
    return TG_OK;
}

int32_t tg_fully_connected_lb_get_buffer_size(int32_t format, int32_t accum_depth)
{
    /* INT4 / PALETTE decode one row; TERNARY / BINARY run in place on their bit planes */
    return (format == TG_WF_INT4 || format == TG_WF_PALETTE) ? accum_depth : 0;
}
