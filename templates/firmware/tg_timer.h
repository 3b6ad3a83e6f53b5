/* tg_timer.h: a 64-bit tick counter on SysTick (extended past 24 bits by its interrupt), generated
 * by tinygen. Ticks are core clock cycles on hardware; under QEMU -icount a fixed number of
 * instructions, measured by tg_timer_calibrate() on a loop of known instruction count.
 */
#ifndef TG_TIMER_H
#define TG_TIMER_H

#include <stdint.h>

void tg_timer_init(void);
uint64_t tg_timer_now(void);

/* Runs two spin loops; *instructions = their instruction-count difference, *ticks = tick difference. */
void tg_timer_calibrate(uint64_t *instructions, uint64_t *ticks);

#endif /* TG_TIMER_H */
