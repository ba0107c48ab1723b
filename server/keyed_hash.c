/* keyed_hash.c — SipHash-2-4 under a random key, for tables of client
 * strings (see keyed_hash.h). */
#include "keyed_hash.h"

#include <sodium.h>
#include <string.h>

_Static_assert(KEYED_HASH_KEY_BYTES == crypto_shorthash_KEYBYTES, "SipHash-2-4 key size");
_Static_assert(crypto_shorthash_BYTES == sizeof(uint64_t), "SipHash-2-4 gives 64 bits");

int keyed_hash_key_new(keyed_hash_key *k) {
  /* sodium_init is idempotent and thread-safe: 1 once it has run before. */
  if (sodium_init() < 0) return -1;
  randombytes_buf(k->bytes, sizeof k->bytes);
  return 0;
}

uint64_t keyed_hash(const keyed_hash_key *k, const void *s, size_t len) {
  unsigned char out[crypto_shorthash_BYTES];
  crypto_shorthash(out, s, len, k->bytes);
  uint64_t h;
  memcpy(&h, out, sizeof h);
  return h;
}
