/*
 * siphash.c — SipHash-2-4 (Jean-Philippe Aumasson and Daniel J. Bernstein,
 * "SipHash: a fast short-input PRF", 2012), written from the paper.
 *
 * Tables that hash strings a client chooses (the categories of a table, the
 * kept categories of an encoding) are open to hash flooding: with a public
 * hash, names that all land in one chain make every insert a scan of the
 * table. SipHash is keyed: without the 16-byte key, which the caller draws
 * at random, colliding inputs cannot be chosen. It costs about 1.5 cycles a
 * byte plus some 20 cycles a call, a few nanoseconds for a category name.
 *
 * The state is four 64-bit words. Each 8-byte little-endian block m is
 * absorbed by v3 ^= m, two SipRounds, v0 ^= m; the last block holds the
 * remaining bytes and the length mod 256 in its top byte; finalization is
 * v2 ^= 0xff and four SipRounds, and the hash is v0 ^ v1 ^ v2 ^ v3.
 */
#include "nn_internal.h"

static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

/* One SipRound: add-rotate-xor over the four words. */
#define SIPROUND                                                                   \
  do {                                                                             \
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                       \
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                         \
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                         \
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                       \
  } while (0)

uint64_t nn_siphash24(const uint8_t key[16], const void *buf, size_t len) {
  const uint8_t *p = buf;
  uint64_t k0 = nn__le64(key), k1 = nn__le64(key + 8);
  /* "somepseudorandomlygeneratedbytes" */
  uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
  uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
  size_t whole = len & ~(size_t)7;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m = nn__le64(p + i);
    v3 ^= m;
    SIPROUND;
    SIPROUND;
    v0 ^= m;
  }
  uint64_t last = (uint64_t)(len & 0xff) << 56;
  for (size_t i = 0; i < (len & 7); i++) last |= (uint64_t)p[whole + i] << (8 * i);
  v3 ^= last;
  SIPROUND;
  SIPROUND;
  v0 ^= last;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}
