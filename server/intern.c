/* intern.c — distinct strings numbered in order of first appearance, in an
 * open-addressing hash table (class names of a data set). The strings are
 * the client's, so the hash is keyed (keyed_hash.h): linear probing stays
 * at a few slots a lookup whatever names the client chose. */
#include "intern.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void intern_use_key(interner *t, const keyed_hash_key *k) {
  assert(t->n_slots == 0);
  t->key = *k;
  t->keyed = true;
}

void intern_free(interner *t) {
  for (int32_t i = 0; i < t->n; i++) free(t->names[i]);
  free(t->names);
  free(t->slots);
  memset(t, 0, sizeof *t);
}

/* Index of s (len bytes) in t, or -1 with *slot where it would go; adds the
 * slots it looks at to *probes. */
static int32_t find_slot(const interner *t, const char *s, size_t len, size_t *slot,
                         uint64_t *probes) {
  if (t->n_slots == 0) return -1;
  size_t mask = t->n_slots - 1;
  for (size_t i = (size_t)keyed_hash(&t->key, s, len) & mask;; i = (i + 1) & mask) {
    int32_t k = t->slots[i];
    *slot = i;
    ++*probes;
    if (k == 0) return -1;
    const char *name = t->names[k - 1];
    if (strncmp(name, s, len) == 0 && name[len] == '\0') return k - 1;
  }
}

static int rehash(interner *t) {
  /* A new table draws its key: no two tables share one, so what a client
   * learns of one table's order tells it nothing about the next. */
  if (!t->keyed && keyed_hash_key_new(&t->key) != 0) return -1;
  t->keyed = true;
  size_t n_slots = t->n_slots ? 2 * t->n_slots : 16;
  int32_t *slots = calloc(n_slots, sizeof *slots); /* (n_slots,) */
  if (slots == NULL) return -1;
  free(t->slots);
  t->slots = slots;
  t->n_slots = n_slots;
  for (int32_t k = 0; k < t->n; k++) {
    size_t slot = 0;
    find_slot(t, t->names[k], strlen(t->names[k]), &slot, &t->probes);
    t->slots[slot] = k + 1;
  }
  return 0;
}

int intern_add(interner *t, const char *s, size_t len, int32_t *id) {
  if ((size_t)t->n * 2 + 2 > t->n_slots && rehash(t) != 0) return -1;
  size_t slot = 0;
  *id = find_slot(t, s, len, &slot, &t->probes);
  if (*id >= 0) return 0;
  if (t->n == t->cap) {
    int32_t cap = t->cap ? 2 * t->cap : 16;
    char **names = realloc(t->names, (size_t)cap * sizeof *names);
    if (names == NULL) return -1;
    t->names = names;
    t->cap = cap;
  }
  char *copy = malloc(len + 1);
  if (copy == NULL) return -1;
  memcpy(copy, s, len);
  copy[len] = '\0';
  t->names[t->n] = copy;
  t->slots[slot] = ++t->n;
  *id = t->n - 1;
  return 0;
}

typedef struct {
  const char *name;
  int32_t id;
} named_id;

static int cmp_named_id(const void *a, const void *b) {
  return strcmp(((const named_id *)a)->name, ((const named_id *)b)->name);
}

int intern_take_sorted(interner *t, int32_t *ids, size_t n, char ***names, int *n_names) {
  int32_t k = t->n;
  named_id *order = malloc((size_t)k * sizeof *order); /* (k,) */
  int32_t *rank = malloc((size_t)k * sizeof *rank);    /* (k,) id -> sorted position */
  char **classes = malloc((size_t)k * sizeof *classes); /* (k,) */
  int rc = -1;
  if (order == NULL || rank == NULL || classes == NULL) {
    free(classes);
    goto out;
  }
  for (int32_t i = 0; i < k; i++) order[i] = (named_id){t->names[i], i};
  qsort(order, (size_t)k, sizeof *order, cmp_named_id);
  for (int32_t r = 0; r < k; r++) {
    classes[r] = t->names[order[r].id];
    rank[order[r].id] = r;
  }
  for (size_t i = 0; i < n; i++) ids[i] = rank[ids[i]];
  t->n = 0; /* the names now belong to the caller */
  *names = classes;
  *n_names = k;
  rc = 0;
out:
  free(order);
  free(rank);
  return rc;
}

int32_t intern_find(const interner *t, const char *s, size_t len) {
  size_t slot;
  uint64_t probes = 0; /* t is const: a lookup's probes are not counted */
  return find_slot(t, s, len, &slot, &probes);
}
