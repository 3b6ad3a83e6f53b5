/* tinygen runtime: a byte copy, for reading and assigning variables (persistent state).
 *
 * Copies `nbytes` bytes from `src` to `dst` (the two do not overlap: a variable lives in the state
 * region, the value it is read into or assigned from in the arena, a model input or a constant).
 * No scratch. Returns TG_OK, or TG_ERROR for a negative size.
 */
#ifndef TG_COPY_BYTES_H
#define TG_COPY_BYTES_H

#include "tg_common.h"

int tg_copy_bytes(const void *src, void *dst, int32_t nbytes);

#endif /* TG_COPY_BYTES_H */
