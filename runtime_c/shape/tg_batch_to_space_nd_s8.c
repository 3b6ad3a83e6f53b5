/* tinygen runtime: int8 BATCH_TO_SPACE_ND; contract in tg_batch_to_space_nd.h, body in
 * tg_batch_to_space_nd_body.inc. */
#include "tg_batch_to_space_nd.h"

#include <string.h>

#define TG_FN tg_batch_to_space_nd_s8
#define TG_T int8_t
#include "tg_batch_to_space_nd_body.inc"
