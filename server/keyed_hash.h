/*
 * keyed_hash.h — the hash of every table keyed by client strings (class
 * names, CSV columns): SipHash-2-4 (libsodium's crypto_shorthash) under a
 * key drawn at random for each table.
 *
 * An unkeyed hash lets a client choose strings that all land in one bucket:
 * against FNV-1a with linear probing, 232,000 chosen class names cost 98 s
 * of CPU where random ones cost 0.3 s. Under a secret random key the
 * client cannot tell which strings collide, so chosen strings spread as
 * random ones do. SipHash costs about 1 ns a byte, as FNV-1a does.
 */
#ifndef TRAIND_KEYED_HASH_H
#define TRAIND_KEYED_HASH_H

#include <stddef.h>
#include <stdint.h>

#define KEYED_HASH_KEY_BYTES 16 /* crypto_shorthash_KEYBYTES */

typedef struct {
  unsigned char bytes[KEYED_HASH_KEY_BYTES];
} keyed_hash_key;

/**
 * Draw a new random key (from the kernel's generator, via libsodium,
 * initialized here on first use; safe from any thread).
 * @return 0, or -1 when libsodium cannot start (no random source)
 */
int keyed_hash_key_new(keyed_hash_key *k);

/** The 64-bit SipHash-2-4 of s[0..len) under k. */
uint64_t keyed_hash(const keyed_hash_key *k, const void *s, size_t len);

#endif
