/* tinygen runtime: the packed right operand of the int8 BATCH_MATMUL (one matrix; twin of
 * tinygen/lower/matmul.py pack_rhs_s8).
 *
 * With v[k][c] = R[k][c] - rhs_zp (fits int16), cq = cols rounded up to a multiple of 4 (the last column
 * repeated), k4 = depth / 4 and tail = depth % 4, the matrix is TG_BMM_PACK_WORDS int32 words:
 *   cq column sums, sum_k v[k][c];
 *   then per quad of columns c0..c3: for each group k = 4g, per column c_j: v[k][c_j] | v[k+2][c_j] << 16 and
 *     v[k+1][c_j] | v[k+3][c_j] << 16 (8 words); then per tail value k: v[k][c0] | v[k][c1] << 16 and
 *     v[k][c2] | v[k][c3] << 16 (int16 halves).
 * The two words of a column meet the SXTB16 / SXTB16-ROR-8 halves of 4 lhs bytes in SMLAD.
 */
#ifndef TG_BATCH_MATMUL_S8_PACK_H
#define TG_BATCH_MATMUL_S8_PACK_H

#include "tg_common.h"

#define TG_BMM_QUAD_WORDS(depth) (8 * ((depth) >> 2) + 2 * ((depth) & 3))
#define TG_BMM_PACK_WORDS(depth, cols) (((cols) + 3) / 4 * (4 + TG_BMM_QUAD_WORDS(depth)))

#endif /* TG_BATCH_MATMUL_S8_PACK_H */
