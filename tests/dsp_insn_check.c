/* Instruction-level check of runtime_c/include/tg_dsp_emul.h (tests/test_dsp_emulation.py).
 *
 * Runs every instruction the device kernel path uses over the same operand list and writes each
 * result word: compiled for the host with -DTG_EMULATE_DSP=1 the results come from tg_dsp_emul.h;
 * compiled as Cortex-M4 firmware (the firmware's main.c, writing through semihosting) they come from
 * the instructions themselves. The two result files must be byte-identical.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N_EDGE 16u
#define N_RANDOM 3000u
#define WORDS 32u

#if defined(TG_EMULATE_DSP) && TG_EMULATE_DSP

#include "tg_dsp_emul.h"

#define DEF_ROT(rot) \
    static uint32_t sxtb16_##rot(uint32_t m) { return tg_emu_sxtb16(m, rot); } \
    static uint32_t sxtab16_##rot(uint32_t n, uint32_t m) { return tg_emu_sxtab16(n, m, rot); } \
    static uint32_t sxtah_##rot(uint32_t n, uint32_t m) { return tg_emu_sxtah(n, m, rot); }
DEF_ROT(0)
DEF_ROT(8)
DEF_ROT(16)
DEF_ROT(24)

static uint32_t smlad(uint32_t n, uint32_t m, uint32_t a) { return tg_emu_smlad(n, m, a); }
static uint32_t smlabb(uint32_t n, uint32_t m, uint32_t a) { return tg_emu_smlabb(n, m, a); }
static uint32_t smlatt(uint32_t n, uint32_t m, uint32_t a) { return tg_emu_smlatt(n, m, a); }
static void smlal(uint32_t *lo, uint32_t *hi, uint32_t n, uint32_t m) { tg_emu_smlal(lo, hi, n, m); }
static void adds_adc(uint32_t *lo, uint32_t *hi, uint32_t s)
{
    uint32_t c;
    *lo = tg_emu_adds(*lo, s << 31, &c);
    *hi = tg_emu_adc(*hi, s, c);
}
static uint32_t asr_reg(uint32_t x, uint32_t s) { return tg_emu_asr_reg(x, s); }
static uint32_t lsl_reg(uint32_t x, uint32_t s) { return tg_emu_lsl_reg(x, s); }
static uint32_t asr31(uint32_t x) { return tg_emu_asr(x, 31); }
static uint32_t pkhbt16(uint32_t n, uint32_t m) { return tg_emu_pkhbt(n, m, 16); }
static uint32_t pkhtb16(uint32_t n, uint32_t m) { return tg_emu_pkhtb(n, m, 16); }
static uint32_t ssat8(uint32_t n) { return tg_emu_ssat(tg_emu_s32(n), 8); }
static uint32_t bfi_8(uint32_t d, uint32_t n) { return tg_emu_bfi(d, n, 8, 8); }
static uint32_t bfi_16(uint32_t d, uint32_t n) { return tg_emu_bfi(d, n, 16, 8); }
static uint32_t bfi_24(uint32_t d, uint32_t n) { return tg_emu_bfi(d, n, 24, 8); }
static void ssub8_sel(uint32_t n, uint32_t m, uint32_t *diff, uint32_t *sel)
{
    uint32_t ge;
    *diff = tg_emu_ssub8(n, m, &ge);
    *sel = tg_emu_sel(n, m, ge);
}

#else /* the instructions themselves (Armv7E-M) */

#define ROR_0 ""
#define ROR_8 ", ror #8"
#define ROR_16 ", ror #16"
#define ROR_24 ", ror #24"
#define DEF_ROT(rot) \
    static uint32_t sxtb16_##rot(uint32_t m) \
    { \
        uint32_t d; \
        __asm__("sxtb16 %0, %1" ROR_##rot : "=r"(d) : "r"(m)); \
        return d; \
    } \
    static uint32_t sxtab16_##rot(uint32_t n, uint32_t m) \
    { \
        uint32_t d; \
        __asm__("sxtab16 %0, %1, %2" ROR_##rot : "=r"(d) : "r"(n), "r"(m)); \
        return d; \
    } \
    static uint32_t sxtah_##rot(uint32_t n, uint32_t m) \
    { \
        uint32_t d; \
        __asm__("sxtah %0, %1, %2" ROR_##rot : "=r"(d) : "r"(n), "r"(m)); \
        return d; \
    }
DEF_ROT(0)
DEF_ROT(8)
DEF_ROT(16)
DEF_ROT(24)

#define DEF3(name, insn) \
    static uint32_t name(uint32_t n, uint32_t m, uint32_t a) \
    { \
        uint32_t d; \
        __asm__(insn " %0, %1, %2, %3" : "=r"(d) : "r"(n), "r"(m), "r"(a)); \
        return d; \
    }
DEF3(smlad, "smlad")
DEF3(smlabb, "smlabb")
DEF3(smlatt, "smlatt")

#define DEF2(name, text) \
    static uint32_t name(uint32_t n, uint32_t m) \
    { \
        uint32_t d; \
        __asm__(text : "=r"(d) : "r"(n), "r"(m)); \
        return d; \
    }
DEF2(asr_reg, "asr %0, %1, %2")
DEF2(lsl_reg, "lsl %0, %1, %2")
DEF2(pkhbt16, "pkhbt %0, %1, %2, lsl #16")
DEF2(pkhtb16, "pkhtb %0, %1, %2, asr #16")

static void smlal(uint32_t *lo, uint32_t *hi, uint32_t n, uint32_t m)
{
    uint32_t l = *lo, h = *hi;
    __asm__("smlal %0, %1, %2, %3" : "+r"(l), "+r"(h) : "r"(n), "r"(m));
    *lo = l;
    *hi = h;
}
static void adds_adc(uint32_t *lo, uint32_t *hi, uint32_t s)
{
    uint32_t l = *lo, h = *hi;
    __asm__("adds %0, %0, %2, lsl #31\n\tadc %1, %1, %2" : "+&r"(l), "+&r"(h) : "r"(s) : "cc");
    *lo = l;
    *hi = h;
}
static uint32_t asr31(uint32_t x)
{
    uint32_t d;
    __asm__("asr %0, %1, #31" : "=r"(d) : "r"(x));
    return d;
}
static uint32_t ssat8(uint32_t n)
{
    uint32_t d;
    __asm__("ssat %0, #8, %1" : "=r"(d) : "r"(n));
    return d;
}
#define DEF_BFI(lsb) \
    static uint32_t bfi_##lsb(uint32_t d, uint32_t n) \
    { \
        __asm__("bfi %0, %1, #" #lsb ", #8" : "+r"(d) : "r"(n)); \
        return d; \
    }
DEF_BFI(8)
DEF_BFI(16)
DEF_BFI(24)
static void ssub8_sel(uint32_t n, uint32_t m, uint32_t *diff, uint32_t *sel)
{
    uint32_t t, d;
    __asm__("ssub8 %0, %2, %3\n\tsel %1, %2, %3" : "=&r"(t), "=&r"(d) : "r"(n), "r"(m) : "cc");
    *diff = t;
    *sel = d;
}

#endif

static const uint32_t edge[N_EDGE] = {0u, 1u, 0x7Fu, 0x80u, 0xFFu, 0x7FFFu, 0x8000u, 0xFFFFu, 0x7FFFFFFFu,
                                      0x80000000u, 0xFFFFFFFFu, 0x80808080u, 0x7F7F7F7Fu, 0x80007FFFu,
                                      0x0000001Fu, 0x00000020u};

/* The result words of one operand triple. */
static void check(uint32_t a, uint32_t b, uint32_t c, uint32_t out[WORDS])
{
    uint32_t k = 0u, lo, hi;
    out[k++] = sxtb16_0(a);
    out[k++] = sxtb16_8(a);
    out[k++] = sxtb16_16(a);
    out[k++] = sxtb16_24(a);
    out[k++] = sxtab16_0(a, b);
    out[k++] = sxtab16_8(a, b);
    out[k++] = sxtab16_16(a, b);
    out[k++] = sxtab16_24(a, b);
    out[k++] = sxtah_0(a, b);
    out[k++] = sxtah_8(a, b);
    out[k++] = sxtah_16(a, b);
    out[k++] = sxtah_24(a, b);
    out[k++] = smlad(a, b, c);
    out[k++] = smlabb(a, b, c);
    out[k++] = smlatt(a, b, c);
    lo = c;
    hi = a ^ b;
    smlal(&lo, &hi, a, b);
    out[k++] = lo;
    out[k++] = hi;
    lo = a;
    hi = b;
    adds_adc(&lo, &hi, c);
    out[k++] = lo;
    out[k++] = hi;
    out[k++] = asr_reg(a, b);
    out[k++] = asr_reg(a, c & 63u);
    out[k++] = lsl_reg(a, b);
    out[k++] = lsl_reg(a, c & 63u);
    out[k++] = asr31(a);
    out[k++] = pkhbt16(a, b);
    out[k++] = pkhtb16(a, b);
    out[k++] = ssat8(a);
    out[k++] = bfi_8(a, b);
    out[k++] = bfi_16(a, b);
    out[k++] = bfi_24(a, b);
    ssub8_sel(a, b, &lo, &hi);
    out[k++] = lo;
    out[k++] = hi;
}

/* Every operand triple in order: the edge values pairwise (c from the edge list too), then random
 * words (xorshift32). emit() receives the result words of each triple. */
static void run_all(void (*emit)(const uint32_t *words, uint32_t n, void *ctx), void *ctx)
{
    uint32_t out[WORDS], x = 2463534242u;
    for (uint32_t i = 0u; i < N_EDGE; ++i) {
        for (uint32_t j = 0u; j < N_EDGE; ++j) {
            check(edge[i], edge[j], edge[(i + j) % N_EDGE], out);
            emit(out, WORDS, ctx);
        }
    }
    for (uint32_t r = 0u; r < N_RANDOM; ++r) {
        uint32_t v[3];
        for (uint32_t t = 0u; t < 3u; ++t) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            v[t] = x;
        }
        check(v[0], v[1], v[2], out);
        emit(out, WORDS, ctx);
    }
}

#if defined(TG_EMULATE_DSP) && TG_EMULATE_DSP

static void emit_file(const uint32_t *words, uint32_t n, void *ctx)
{
    fwrite(words, sizeof *words, n, (FILE *)ctx);
}

int main(int argc, char **argv)
{
    FILE *f;
    if (argc != 2 || (f = fopen(argv[1], "wb")) == NULL) {
        return 64;
    }
    run_all(emit_file, f);
    return fclose(f) == 0 ? 0 : 65;
}

#else

#include "tg_io.h"

static void emit_io(const uint32_t *words, uint32_t n, void *ctx)
{
    const int handle = *(const int *)ctx;
    if (tg_io_write(handle, words, n * sizeof *words) != n * sizeof *words) {
        tg_io_exit(66);
    }
}

int main(void)
{
    int handle;
    tg_io_init();
    handle = tg_io_open("insn.bin", 1);
    if (handle < 0) {
        tg_io_exit(65);
    }
    run_all(emit_io, &handle);
    tg_io_close(handle);
    tg_io_exit(0);
    return 0;
}

#endif
