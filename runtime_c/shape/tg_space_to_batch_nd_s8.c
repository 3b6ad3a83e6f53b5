/* tinygen runtime: int8 SPACE_TO_BATCH_ND; contract in tg_space_to_batch_nd.h, body in
 * tg_space_to_batch_nd_body.inc. */
#include "tg_space_to_batch_nd.h"

#include <string.h>

#define TG_FN tg_space_to_batch_nd_s8
#define TG_T int8_t
#include "tg_space_to_batch_nd_body.inc"
