/* test_intern.c — the interner of class names and column names: ids, sorted
 * hand-over, and lookups that stay cheap for names chosen to collide. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/intern.h"
#include "../../server/keyed_hash.h"

Test(intern, ids_in_order_of_first_appearance) {
  interner t = {0};
  int32_t id;
  const char *names[] = {"b", "a", "b", "c", "a"};
  const int32_t want[] = {0, 1, 0, 2, 1};
  for (size_t i = 0; i < 5; i++) {
    cr_assert_eq(intern_add(&t, names[i], 1, &id), 0);
    cr_assert_eq(id, want[i], "%s: id %d", names[i], (int)id);
  }
  cr_assert_eq(t.n, 3);
  cr_assert_eq(intern_find(&t, "c", 1), 2);
  cr_assert_eq(intern_find(&t, "cc", 2), -1);
  cr_assert_eq(intern_find(&t, "c", 0), -1, "a prefix is another string");
  intern_free(&t);
}

Test(intern, two_tables_hash_under_different_keys) {
  keyed_hash_key k1, k2;
  cr_assert_eq(keyed_hash_key_new(&k1), 0);
  cr_assert_eq(keyed_hash_key_new(&k2), 0);
  cr_assert_neq(memcmp(&k1, &k2, sizeof k1), 0, "two keys drawn alike");
  cr_assert_eq(keyed_hash(&k1, "setosa", 6), keyed_hash(&k1, "setosa", 6));
  int differ = 0;
  for (int i = 0; i < 8; i++) {
    char s[16];
    snprintf(s, sizeof s, "c%d", i);
    differ += keyed_hash(&k1, s, strlen(s)) != keyed_hash(&k2, s, strlen(s));
  }
  cr_assert_eq(differ, 8, "the hash does not depend on the key");
}

/* ---- a flood of names that collide under FNV-1a ----------------------------- */

#define LOW_BITS 20 /* the names share these bits of their FNV-1a hash: one
                     * bucket in any table of up to 2^20 slots */
#define BLOCKS 16   /* 2^16 names of 16 three-character blocks */
#define LOW_MASK ((1u << LOW_BITS) - 1)

/* FNV-1a over s[0..len) from state h. Its low bits depend only on the low
 * bits of h and of the bytes: a block that maps state s to s' on the low
 * bits does so whatever came before. */
static uint64_t fnv1a(uint64_t h, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

typedef struct {
  uint32_t low;
  char block[4];
} step;

static int cmp_step(const void *a, const void *b) {
  uint32_t x = ((const step *)a)->low, y = ((const step *)b)->low;
  return (x > y) - (x < y);
}

static const char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";

/* For each of BLOCKS positions, two different blocks that take the running
 * FNV-1a state to the same low bits (a birthday search among the 64^3
 * three-character blocks): any choice of one of the two at every position
 * gives the same low bits at the end. */
static void colliding_blocks(char pairs[BLOCKS][2][4]) {
  enum { N = 64 * 64 * 64 };
  step *steps = malloc(N * sizeof *steps);
  cr_assert_not_null(steps);
  uint64_t h = 14695981039346656037ull; /* FNV-1a's offset basis */
  for (int b = 0; b < BLOCKS; b++) {
    for (int i = 0; i < N; i++) {
      char *s = steps[i].block;
      s[0] = alphabet[i / 4096], s[1] = alphabet[i / 64 % 64], s[2] = alphabet[i % 64];
      s[3] = '\0';
      steps[i].low = (uint32_t)fnv1a(h, s, 3) & LOW_MASK;
    }
    qsort(steps, N, sizeof *steps, cmp_step);
    int i = 0;
    while (i + 1 < N && steps[i].low != steps[i + 1].low) i++;
    cr_assert_lt(i + 1, N, "no collision among %d blocks", N);
    memcpy(pairs[b][0], steps[i].block, 4);
    memcpy(pairs[b][1], steps[i + 1].block, 4);
    h = fnv1a(h, steps[i].block, 3);
  }
  free(steps);
}

Test(intern, names_colliding_under_fnv1a_stay_cheap) {
  enum { NAMES = 50000, LEN = 3 * BLOCKS };
  char pairs[BLOCKS][2][4];
  colliding_blocks(pairs);
  interner t = {0};
  uint32_t low = 0;
  for (int k = 0; k < NAMES; k++) {
    char name[LEN + 1];
    for (int b = 0; b < BLOCKS; b++) memcpy(name + 3 * b, pairs[b][(k >> b) & 1], 3);
    name[LEN] = '\0';
    uint32_t h = (uint32_t)fnv1a(14695981039346656037ull, name, LEN) & LOW_MASK;
    if (k == 0) low = h;
    cr_assert_eq(h, low, "name %d does not collide under FNV-1a", k);
    int32_t id;
    cr_assert_eq(intern_add(&t, name, LEN, &id), 0);
    cr_assert_eq(id, k, "name %d got id %d", k, (int)id);
    /* Linear probing visits ~2 slots an insert at a load under 1/2, and
     * rehashing as many again; one bucket for all makes it ~k an insert
     * (quadratic: 1.25e9 for all), so stop at the first sign of it. */
    cr_assert_lt(t.probes, 8 * (uint64_t)(k + 1) + 64, "%llu probes after %d names",
                 (unsigned long long)t.probes, k + 1);
  }
  cr_assert_eq(t.n, NAMES);
  intern_free(&t);
}
