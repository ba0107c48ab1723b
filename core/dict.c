/*
 * dict.c — a dictionary of distinct strings, numbered in the order they are
 * added and counted: the categories of a table column, the kept categories
 * and class names of an encoding, the column names of both.
 *
 * The entries lie back to back in one text buffer, each NUL-terminated, so
 * a dictionary costs its text plus 20 bytes an entry and 4 a hash slot, and
 * adding a string allocates nothing once the buffers have grown (they
 * double). Slots are open-addressed with linear probing under SipHash-2-4
 * with the caller's key, so a client cannot choose strings that collide;
 * the table is kept at most half full, so a probe ends within a few slots.
 * Each entry keeps 32 bits of its hash: growing rehashes without SipHash,
 * and a probe compares bytes only when those bits match.
 */
#include <stdlib.h>
#include <string.h>

#include "table_internal.h"

void nn__dict_init(nn__dict *d, const uint8_t key[16]) {
  memset(d, 0, sizeof *d);
  memcpy(d->key, key, sizeof d->key);
}

void nn__dict_free(nn__dict *d) {
  free(d->text);
  free(d->off);
  free(d->count);
  free(d->hash);
  free(d->slots);
  uint8_t key[16];
  memcpy(key, d->key, sizeof key);
  nn__dict_init(d, key);
}

size_t nn__dict_bytes(const nn__dict *d) {
  size_t per_entry = sizeof *d->off + sizeof *d->count + sizeof *d->hash;
  return d->cap + (size_t)d->cap_n * per_entry + (d->slots ? (d->mask + 1) * sizeof *d->slots : 0);
}

static uint32_t hash_of(const nn__dict *d, const char *s, size_t len) {
  return (uint32_t)nn_siphash24(d->key, s, len);
}

int32_t nn__dict_find(const nn__dict *d, const char *s, size_t len) {
  if (d->n == 0) return -1;
  uint32_t h = hash_of(d, s, len);
  for (size_t i = h & d->mask;; i = (i + 1) & d->mask) {
    int32_t slot = d->slots[i];
    if (slot == 0) return -1;
    int32_t k = slot - 1;
    size_t klen;
    const char *ks = nn__dict_entry(d, k, &klen);
    if (d->hash[k] == h && klen == len && memcmp(ks, s, len) == 0) return k;
  }
}

/* Double the slots (or make the first 16) and rehash from the stored bits. */
static int grow_slots(nn__dict *d) {
  size_t n_slots = d->slots ? 2 * (d->mask + 1) : 16;
  int32_t *slots = calloc(n_slots, sizeof *slots);
  if (slots == NULL) return NN_ENOMEM;
  for (int32_t k = 0; k < d->n; k++) {
    size_t i = d->hash[k] & (n_slots - 1);
    while (slots[i] != 0) i = (i + 1) & (n_slots - 1);
    slots[i] = k + 1;
  }
  free(d->slots);
  d->slots = slots;
  d->mask = n_slots - 1;
  return NN_OK;
}

/* Room for one more entry of len bytes: the per-entry arrays, the text and
 * the slots, each doubled when full; all checked against room first. */
static int reserve(nn__dict *d, size_t len, size_t room) {
  size_t per_entry = sizeof *d->off + sizeof *d->count + sizeof *d->hash;
  int32_t cap_n = d->cap_n;
  size_t cap = d->cap, n_slots = d->slots ? d->mask + 1 : 0;
  if (d->n >= NN__DICT_MAX || len >= UINT32_MAX - d->len) return NN_ERANGE;
  if (d->n + 1 >= cap_n) cap_n = cap_n ? 2 * cap_n : 16; /* off has cap_n + 1 entries */
  while (len + 1 > cap - d->len) cap = cap ? 2 * cap : 256;
  if (cap > UINT32_MAX) cap = UINT32_MAX;
  while ((size_t)(d->n + 1) * 2 >= n_slots) n_slots = n_slots ? 2 * n_slots : 16;
  /* cap_n <= 2^29, n_slots <= 2^30, cap < 2^32: the sum cannot overflow */
  size_t need = cap + (size_t)cap_n * per_entry + n_slots * sizeof *d->slots;
  if (need > room) return NN_ERANGE;
  if (cap != d->cap) {
    char *t = realloc(d->text, cap);
    if (t == NULL) return NN_ENOMEM;
    d->text = t;
    d->cap = cap;
  }
  if (cap_n != d->cap_n) {
    uint32_t *off = realloc(d->off, ((size_t)cap_n + 1) * sizeof *off);
    if (off == NULL) return NN_ENOMEM;
    d->off = off;
    uint64_t *count = realloc(d->count, (size_t)cap_n * sizeof *count);
    if (count == NULL) return NN_ENOMEM;
    d->count = count;
    uint32_t *hash = realloc(d->hash, (size_t)cap_n * sizeof *hash);
    if (hash == NULL) return NN_ENOMEM;
    d->hash = hash;
    if (d->cap_n == 0) d->off[0] = 0;
    d->cap_n = cap_n;
  }
  while (d->mask + 1 < n_slots || d->slots == NULL)
    if (grow_slots(d) != NN_OK) return NN_ENOMEM;
  return NN_OK;
}

int nn__dict_add(nn__dict *d, const char *s, size_t len, size_t room, int32_t *code) {
  uint32_t h = hash_of(d, s, len);
  size_t i = 0;
  if (d->n > 0) {
    for (i = h & d->mask;; i = (i + 1) & d->mask) {
      int32_t slot = d->slots[i];
      if (slot == 0) break;
      int32_t k = slot - 1;
      size_t klen;
      const char *ks = nn__dict_entry(d, k, &klen);
      if (d->hash[k] == h && klen == len && memcmp(ks, s, len) == 0) {
        d->count[k]++;
        *code = k;
        return NN_OK;
      }
    }
  }
  size_t slots_before = d->slots ? d->mask + 1 : 0;
  int rc = reserve(d, len, room);
  if (rc != NN_OK) return rc;
  if (d->mask + 1 != slots_before) /* rehashed: find the free slot again */
    for (i = h & d->mask; d->slots[i] != 0; i = (i + 1) & d->mask) {
    }
  int32_t k = d->n++;
  memcpy(d->text + d->len, s, len);
  d->text[d->len + len] = '\0';
  d->len += len + 1;
  d->off[k + 1] = (uint32_t)d->len;
  d->count[k] = 1;
  d->hash[k] = h;
  d->slots[i] = k + 1;
  *code = k;
  return NN_OK;
}
