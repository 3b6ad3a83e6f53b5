/* tinygen runtime: fast int8 depthwise 2-D convolution; contract in tg_depthwise_conv2d_s8_fast.h. */
#include "tg_depthwise_conv2d_s8_fast.h"

#include "tg_dsp.h"

int32_t tg_depthwise_conv2d_s8_fast_get_buffer_size(int32_t in_c, int32_t filter_h, int32_t filter_w)
{
    const int32_t pairs = (filter_h * filter_w + 1) / 2;
    return (int32_t)(2 * pairs * sizeof(const int8_t *)) + in_c;
}

static inline int8_t finish(int32_t acc, const int32_t *q, int32_t output_offset, int32_t act_min,
                            int32_t act_max)
{
    const int64_t round = (int64_t)(((uint64_t)(uint32_t)q[3] << 32) | (uint32_t)q[2]);
    const int64_t prod = (int64_t)acc * q[1] + (round - ((int64_t)(acc < 0) << 31));
    const int32_t out = ((int32_t)(prod >> 32) >> q[4]) + output_offset;
    return (int8_t)tg_clamp(out, act_min, act_max);
}

/* [p0 p1 q0 q1] and [p2 p3 q2 q3] from the bytes of p and q (PKHBT / PKHTB). */
static inline uint32_t pack_lo(uint32_t p, uint32_t q)
{
    return (p & 0xFFFFu) | (q << 16);
}

static inline uint32_t pack_hi(uint32_t p, uint32_t q)
{
    return (p >> 16) | (q & 0xFFFF0000u);
}

int tg_depthwise_conv2d_s8_fast(int8_t *scratch,
                                int32_t stride_h, int32_t stride_w,
                                int32_t dilation_h, int32_t dilation_w,
                                int32_t pad_top, int32_t pad_left,
                                int32_t input_zp, int32_t output_offset,
                                int32_t act_min, int32_t act_max,
                                const int32_t *quant,
                                int32_t batches, int32_t in_h, int32_t in_w, int32_t in_c, const int8_t *input,
                                int32_t filter_h, int32_t filter_w, const int32_t *filter,
                                int32_t out_h, int32_t out_w, int8_t *output)
{
    const int32_t taps = filter_h * filter_w;
    const int32_t pairs = (taps + 1) / 2;
    const int8_t **tap = (const int8_t **)(void *)scratch;
    int8_t *zp_px = scratch + 2 * pairs * (int32_t)sizeof(const int8_t *);
    for (int32_t c = 0; c < in_c; ++c) {
        zp_px[c] = (int8_t)input_zp;
    }

    for (int32_t b = 0; b < batches; ++b) {
        const int8_t *in = input + b * in_h * in_w * in_c;
        for (int32_t out_y = 0; out_y < out_h; ++out_y) {
            const int32_t in_y0 = out_y * stride_h - pad_top;
            for (int32_t out_x = 0; out_x < out_w; ++out_x) {
                const int32_t in_x0 = out_x * stride_w - pad_left;
                int8_t *out = output + ((b * out_h + out_y) * out_w + out_x) * in_c;
                int32_t t = 0;
                for (int32_t fy = 0; fy < filter_h; ++fy) {
                    const int32_t in_y = in_y0 + fy * dilation_h;
                    for (int32_t fx = 0; fx < filter_w; ++fx) {
                        const int32_t in_x = in_x0 + fx * dilation_w;
                        const int inside = in_y >= 0 && in_y < in_h && in_x >= 0 && in_x < in_w;
                        tap[t++] = inside ? in + (in_y * in_w + in_x) * in_c : zp_px;
                    }
                }
                if (t & 1) {
                    tap[t] = tap[t - 1]; /* partner of the last tap: its weights are 0 */
                }
                const uint32_t *w = (const uint32_t *)filter;
                const int32_t *q = quant;
                for (int32_t c = 0; c < in_c; c += 4) {
                    int32_t a0 = q[0], a1 = q[5], a2 = q[10], a3 = q[15];
                    for (int32_t j = 0; j < 2 * pairs; j += 2) {
                        const uint32_t p = tg_read_u32(tap[j] + c), r = tg_read_u32(tap[j + 1] + c);
                        const uint32_t lo = pack_lo(p, r), hi = pack_hi(p, r);
                        const uint32_t w01 = w[0], w23 = w[1];
                        w += 2;
                        a0 = tg_smlad(tg_sxtb16(lo), tg_sxtb16(w01), a0);
                        a1 = tg_smlad(tg_sxtb16_r8(lo), tg_sxtb16_r8(w01), a1);
                        a2 = tg_smlad(tg_sxtb16(hi), tg_sxtb16(w23), a2);
                        a3 = tg_smlad(tg_sxtb16_r8(hi), tg_sxtb16_r8(w23), a3);
                    }
                    out[c] = finish(a0, q, output_offset, act_min, act_max);
                    out[c + 1] = finish(a1, q + 5, output_offset, act_min, act_max);
                    out[c + 2] = finish(a2, q + 10, output_offset, act_min, act_max);
                    out[c + 3] = finish(a3, q + 15, output_offset, act_min, act_max);
                    q += 20;
                }
            }
        }
    }
    return TG_OK;
}
