/*
 * rng.c — PCG32 (M. O'Neill, pcg-random.org): small state that serializes as
 * two words, so a checkpoint can carry a run's generator and resume exactly.
 * Its LCG can also jump ahead any distance in O(log distance), so a shard of
 * a batch (core/train.c) draws the very numbers its rows would draw in one
 * process without drawing the others'.
 */
#include <math.h>

#include "nn_internal.h"

void nn__rng_seed(nn__rng *r, uint64_t seed, uint64_t stream) {
  r->state = 0;
  r->inc = (stream << 1) | 1u;
  nn__rng_u32(r);
  r->state += seed;
  nn__rng_u32(r);
}

#define PCG_MULT 6364136223846793005ull

uint32_t nn__rng_u32(nn__rng *r) {
  uint64_t old = r->state;
  r->state = old * PCG_MULT + r->inc;
  uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = (uint32_t)(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

void nn__rng_advance(nn__rng *r, uint64_t delta) {
  /* Brown's "random number generation with arbitrary strides": delta steps
   * of s -> m s + c compose to s -> M s + C, built from the steps of the
   * powers of two in delta (m, c square into m^2, (m + 1) c) */
  uint64_t m = PCG_MULT, c = r->inc, acc_m = 1, acc_c = 0;
  for (; delta > 0; delta >>= 1) {
    if (delta & 1) {
      acc_m *= m;
      acc_c = acc_c * m + c;
    }
    c = (m + 1) * c;
    m *= m;
  }
  r->state = acc_m * r->state + acc_c;
}

float nn__rng_uniform(nn__rng *r) {
  return (float)(nn__rng_u32(r) >> 8) * 0x1.0p-24f; /* u in [0, 1) */
}

float nn__rng_normal(nn__rng *r) {
  /* Box-Muller in double: u1 in (0, 1] keeps log() finite */
  double u1 = ((double)nn__rng_u32(r) + 1.0) * 0x1.0p-32;
  double u2 = (double)nn__rng_u32(r) * 0x1.0p-32;
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t nn__rng_below(nn__rng *r, uint64_t n) {
  /* Lemire's multiply-shift: the high word of x * n is uniform in [0, n)
   * once the few x whose low word falls below 2^64 mod n are rejected */
  uint64_t x = ((uint64_t)nn__rng_u32(r) << 32) | nn__rng_u32(r);
  __uint128_t m = (__uint128_t)x * n;
  uint64_t low = (uint64_t)m;
  if (low < n) {
    uint64_t threshold = -n % n; /* 2^64 mod n */
    while (low < threshold) {
      x = ((uint64_t)nn__rng_u32(r) << 32) | nn__rng_u32(r);
      m = (__uint128_t)x * n;
      low = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}
