/*
 * intern.h — distinct strings numbered in order of first appearance: the
 * class names of a data set, met once per row.
 */
#ifndef TRAIND_INTERN_H
#define TRAIND_INTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyed_hash.h"

typedef struct {
  char **names;   /* (n,) owned, NUL-terminated */
  int32_t n, cap;
  int32_t *slots; /* (n_slots,) open addressing: 1 + index into names; 0 = free */
  size_t n_slots; /* a power of two, more than 2 n once anything is interned */
  keyed_hash_key key; /* drawn when the slots are first made, unless given */
  bool keyed;         /* key is set (intern_use_key, or drawn) */
  uint64_t probes;    /* slots intern_add has looked at, rehashing included: what
                       * a flood of colliding names would drive up (tests) */
} interner;

/**
 * Hash t's strings under k instead of a key of its own: for many small
 * tables of one request (the member names of each object of a document),
 * which would otherwise draw a key each. Call before the first intern_add.
 */
void intern_use_key(interner *t, const keyed_hash_key *k);

/** Free every name; t may be reused (zeroed). */
void intern_free(interner *t);

/**
 * The id of s (len bytes, no NUL inside), added when new.
 * @return 0, or -1 when out of memory (or, on the first call, when no key
 *         can be drawn)
 */
int intern_add(interner *t, const char *s, size_t len, int32_t *id);

/** @return the id of s (len bytes), or -1 when absent. */
int32_t intern_find(const interner *t, const char *s, size_t len);

/**
 * Hand t's names over sorted, and renumber ids (n,) to the sorted order.
 * @param names   receives the malloc'd array of names (the caller owns them)
 * @return 0, or -1 when out of memory (t unchanged)
 */
int intern_take_sorted(interner *t, int32_t *ids, size_t n, char ***names, int *n_names);

#endif
