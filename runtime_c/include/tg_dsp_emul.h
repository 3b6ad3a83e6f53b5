/* tinygen runtime: a portable C99 model of the Armv7E-M instructions that the device path
 * (TG_HAS_DSP) of the fast kernels executes, so that a host build can run that path.
 *
 * Only used when the build defines TG_EMULATE_DSP=1 (tinygen's host builds with kernel_path="device");
 * tg_dsp.h includes it then, and a Cortex-M build never reads this file.
 *
 * Each function follows the instruction's pseudocode in the Armv7-M Architecture Reference Manual
 * (A7.7). Registers are uint32_t; sums wrap modulo 2^32 (2^64 for SMLAL) exactly as the hardware does,
 * in unsigned arithmetic: no signed overflow, no shift by the type's width or more.
 * Flags: the kernels read C (ADDS, LSRS), Z (LSRS, SUBS) and GE (SSUB8), which are returned to the
 * caller; the Q flag (sticky overflow of SMLAD, SMLABB, SMLATT, SSAT) is never read and not modelled.
 * LDRD and LDM fault on an address that is not a multiple of 4 (Armv7-M: UsageFault whatever
 * CCR.UNALIGN_TRP says); the model stops the program there (abort) instead of silently working. LDR
 * accepts any alignment, as on Cortex-M3/M4/M7 with UNALIGN_TRP clear (the reset state).
 */
#ifndef TG_DSP_EMUL_H
#define TG_DSP_EMUL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The int32 whose two's complement bits are u (no implementation-defined conversion). */
static inline int32_t tg_emu_s32(uint32_t u)
{
    return u <= 0x7FFFFFFFu ? (int32_t)u : -(int32_t)(~u) - 1;
}

/* Bits [7:0] / [15:0] of x sign-extended to 32 bits (SignExtend in the pseudocode). */
static inline uint32_t tg_emu_sext8(uint32_t x)
{
    return ((x & 0xFFu) ^ 0x80u) - 0x80u;
}

static inline uint32_t tg_emu_sext16(uint32_t x)
{
    return ((x & 0xFFFFu) ^ 0x8000u) - 0x8000u;
}

/* ROR #rot, rot in {0, 8, 16, 24} (the rotations SXTB16/SXTAB16/SXTAH encode) */
static inline uint32_t tg_emu_ror(uint32_t x, uint32_t rot)
{
    return rot == 0u ? x : (x >> rot) | (x << (32u - rot));
}

/* The signed int16 in bits [15:0] of x, as int32. */
static inline int32_t tg_emu_lo16(uint32_t x)
{
    return tg_emu_s32(tg_emu_sext16(x));
}

/* SXTB16 Rd, Rm, ROR #rot: Rd[15:0] = SignExtend(rotated[7:0]), Rd[31:16] = SignExtend(rotated[23:16]) */
static inline uint32_t tg_emu_sxtb16(uint32_t m, uint32_t rot)
{
    const uint32_t r = tg_emu_ror(m, rot);
    return (tg_emu_sext8(r) & 0xFFFFu) | (tg_emu_sext8(r >> 16) << 16);
}

/* SXTAB16 Rd, Rn, Rm, ROR #rot: per halfword, Rn.h + SignExtend(rotated byte 0 / byte 2), mod 2^16 */
static inline uint32_t tg_emu_sxtab16(uint32_t n, uint32_t m, uint32_t rot)
{
    const uint32_t r = tg_emu_ror(m, rot);
    return ((n + tg_emu_sext8(r)) & 0xFFFFu) | (((n >> 16) + tg_emu_sext8(r >> 16)) << 16);
}

/* SXTAH Rd, Rn, Rm, ROR #rot: Rn + SignExtend(rotated[15:0]), mod 2^32 */
static inline uint32_t tg_emu_sxtah(uint32_t n, uint32_t m, uint32_t rot)
{
    return n + tg_emu_sext16(tg_emu_ror(m, rot));
}

/* SMLAD Rd, Rn, Rm, Ra: Ra + Rn.lo * Rm.lo + Rn.hi * Rm.hi (signed halfwords), low 32 bits of the sum.
 * Each product fits int32 (|p| <= 2^30); their sum and the accumulation wrap, so they are added as
 * unsigned. */
static inline uint32_t tg_emu_smlad(uint32_t n, uint32_t m, uint32_t a)
{
    const int32_t p1 = tg_emu_lo16(n) * tg_emu_lo16(m);
    const int32_t p2 = tg_emu_lo16(n >> 16) * tg_emu_lo16(m >> 16);
    return a + (uint32_t)p1 + (uint32_t)p2;
}

/* SMLABB Rd, Rn, Rm, Ra: Ra + Rn[15:0] * Rm[15:0]; SMLATT: Ra + Rn[31:16] * Rm[31:16] (signed, mod 2^32) */
static inline uint32_t tg_emu_smlabb(uint32_t n, uint32_t m, uint32_t a)
{
    return a + (uint32_t)(tg_emu_lo16(n) * tg_emu_lo16(m));
}

static inline uint32_t tg_emu_smlatt(uint32_t n, uint32_t m, uint32_t a)
{
    return a + (uint32_t)(tg_emu_lo16(n >> 16) * tg_emu_lo16(m >> 16));
}

/* SMLAL RdLo, RdHi, Rn, Rm: RdHi:RdLo += Rn * Rm (signed 32 x 32 -> 64), mod 2^64 */
static inline void tg_emu_smlal(uint32_t *lo, uint32_t *hi, uint32_t n, uint32_t m)
{
    const int64_t prod = (int64_t)tg_emu_s32(n) * (int64_t)tg_emu_s32(m); /* |prod| <= 2^62 */
    const uint64_t acc = (((uint64_t)*hi << 32) | *lo) + (uint64_t)prod;
    *lo = (uint32_t)(acc & 0xFFFFFFFFu);
    *hi = (uint32_t)(acc >> 32);
}

/* ADDS Rd, Rn, op2: Rn + op2 mod 2^32; *carry = the adder's carry out (C flag) */
static inline uint32_t tg_emu_adds(uint32_t n, uint32_t op2, uint32_t *carry)
{
    const uint32_t r = n + op2;
    *carry = r < n ? 1u : 0u;
    return r;
}

/* ADC Rd, Rn, op2: Rn + op2 + C, mod 2^32 */
static inline uint32_t tg_emu_adc(uint32_t n, uint32_t op2, uint32_t carry)
{
    return n + op2 + carry;
}

/* ASR by n in 1..32 (immediate, or the bottom byte of a register clamped: 32 and above fill with the
 * sign bit) */
static inline uint32_t tg_emu_asr(uint32_t x, uint32_t n)
{
    const uint32_t sh = n > 31u ? 31u : n;
    return (x & 0x80000000u) != 0u ? ~(~x >> sh) : x >> sh;
}

/* Rd = Rn, ASR Rs / LSL Rs: the shift amount is Rs[7:0]; LSL by 32 or more gives 0 */
static inline uint32_t tg_emu_asr_reg(uint32_t x, uint32_t s)
{
    return tg_emu_asr(x, s & 0xFFu);
}

static inline uint32_t tg_emu_lsl_reg(uint32_t x, uint32_t s)
{
    const uint32_t sh = s & 0xFFu;
    return sh > 31u ? 0u : x << sh;
}

/* PKHBT Rd, Rn, Rm, LSL #sh: Rn[15:0] | (Rm << sh)[31:16] */
static inline uint32_t tg_emu_pkhbt(uint32_t n, uint32_t m, uint32_t sh)
{
    return (n & 0xFFFFu) | ((m << sh) & 0xFFFF0000u);
}

/* PKHTB Rd, Rn, Rm, ASR #sh: Rn[31:16] | (Rm ASR sh)[15:0] */
static inline uint32_t tg_emu_pkhtb(uint32_t n, uint32_t m, uint32_t sh)
{
    return (n & 0xFFFF0000u) | (tg_emu_asr(m, sh) & 0xFFFFu);
}

/* SSAT Rd, #bits, Rn: Rn saturated to the signed range of `bits` bits (1..31), as a register */
static inline uint32_t tg_emu_ssat(int32_t n, uint32_t bits)
{
    const int32_t hi = (int32_t)((1u << (bits - 1u)) - 1u);
    const int32_t lo = -hi - 1;
    return (uint32_t)(n > hi ? hi : n < lo ? lo : n);
}

/* BFI Rd, Rn, #lsb, #width (width < 32): Rd[lsb + width - 1:lsb] = Rn[width - 1:0], other bits kept */
static inline uint32_t tg_emu_bfi(uint32_t d, uint32_t n, uint32_t lsb, uint32_t width)
{
    const uint32_t mask = ((1u << width) - 1u) << lsb;
    return (d & ~mask) | ((n << lsb) & mask);
}

/* SSUB8 Rd, Rn, Rm: per byte i, SignExtend(Rn.b[i]) - SignExtend(Rm.b[i]); Rd.b[i] = its low 8 bits and
 * GE[i] = (difference >= 0), returned in bit i of *ge */
static inline uint32_t tg_emu_ssub8(uint32_t n, uint32_t m, uint32_t *ge)
{
    uint32_t d = 0u, g = 0u;
    for (uint32_t i = 0u; i < 4u; ++i) {
        const int32_t diff = tg_emu_s32(tg_emu_sext8(n >> (8u * i))) - tg_emu_s32(tg_emu_sext8(m >> (8u * i)));
        d |= ((uint32_t)diff & 0xFFu) << (8u * i);
        g |= (diff >= 0 ? 1u : 0u) << i;
    }
    *ge = g;
    return d;
}

/* SEL Rd, Rn, Rm: per byte i, GE[i] ? Rn.b[i] : Rm.b[i] */
static inline uint32_t tg_emu_sel(uint32_t n, uint32_t m, uint32_t ge)
{
    uint32_t d = 0u;
    for (uint32_t i = 0u; i < 4u; ++i) {
        const uint32_t byte = 0xFFu << (8u * i);
        d |= ((ge >> i) & 1u) != 0u ? n & byte : m & byte;
    }
    return d;
}

/* LDR Rt, [addr]: 4 bytes, little-endian target and host, any alignment */
static inline uint32_t tg_emu_ldr(const void *addr)
{
    uint32_t v;
    memcpy(&v, addr, sizeof v);
    return v;
}

/* The alignment check of LDRD / LDM: a word-unaligned address faults on the device. */
static inline void tg_emu_check_word_aligned(const void *addr)
{
    if (((uintptr_t)addr & 3u) != 0u) {
        abort();
    }
}

/* LDRD Rt, Rt2, [Rn]: two words at addr (word aligned); the caller applies the post-index */
static inline void tg_emu_ldrd(const void *addr, uint32_t *rt, uint32_t *rt2)
{
    tg_emu_check_word_aligned(addr);
    *rt = tg_emu_ldr(addr);
    *rt2 = tg_emu_ldr((const uint8_t *)addr + 4);
}

/* LDRD of two pointers from an array of pointers (the device's pointers are words; the host's may be
 * wider, so the model loads them as the host's pointer type) */
static inline void tg_emu_ldrd_ptr(const int8_t *const *addr, const int8_t **rt, const int8_t **rt2)
{
    tg_emu_check_word_aligned(addr);
    *rt = addr[0];
    *rt2 = addr[1];
}

/* LDMIA Rn, {r0, r1, r2, r3}: four words at addr (word aligned); the caller applies the write-back */
static inline void tg_emu_ldm4(const void *addr, uint32_t *r0, uint32_t *r1, uint32_t *r2, uint32_t *r3)
{
    const uint8_t *p = (const uint8_t *)addr;
    tg_emu_check_word_aligned(addr);
    *r0 = tg_emu_ldr(p);
    *r1 = tg_emu_ldr(p + 4);
    *r2 = tg_emu_ldr(p + 8);
    *r3 = tg_emu_ldr(p + 12);
}

#endif /* TG_DSP_EMUL_H */
