/*
 * table_profile.c — a column's profile for GET /v1/datasets/{id} and the
 * dashboard: missing and distinct counts, the most frequent categories,
 * and min, max, mean and standard deviation of numbers.
 *
 * Mean and variance are Welford's running update (stable where the sum of
 * squares minus the squared sum would cancel); distinct numbers are counted
 * on a sorted copy (a radix sort of the values' bits: 16 bytes a row with its
 * scratch, freed at once; qsort took a third of a 100 MB upload's time). The
 * top categories come from the dictionary's counts, kept while building,
 * by a partial selection of NN_PROFILE_TOP. The histogram's bins are
 * equal-width from min to max, as many as there are distinct values up to
 * NN_PROFILE_BINS (an integer column of three values gets three bars, not
 * seventeen empty ones between them).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "table_internal.h"

#define RADIX_BITS 11
#define RADIX_PASSES 6 /* 6 x 11 >= 64 */

/* v's bits mapped so that unsigned order is numeric order: a negative
 * number's bits all flipped, a positive one's sign bit set. */
static uint64_t sort_key(double v) {
  uint64_t k;
  memcpy(&k, &v, sizeof k);
  return k >> 63 ? ~k : k | (uint64_t)1 << 63;
}

/* The keys back to their values, in place: the sorted numbers. */
static double *key_values(uint64_t *keys, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint64_t k = keys[i] >> 63 ? keys[i] & ~((uint64_t)1 << 63) : ~keys[i];
    double v;
    memcpy(&v, &k, sizeof v);
    memcpy(&keys[i], &v, sizeof v);
  }
  return (double *)(void *)keys;
}

/* Sort n keys ascending: least significant digit first, RADIX_BITS a pass,
 * every histogram from one read, and a pass whose digit all keys share
 * skipped (the exponent's high bits usually are). tmp holds n keys.
 * @return the array that holds the sorted keys (keys or tmp) */
static uint64_t *radix_sort(uint64_t *keys, uint64_t *tmp, size_t n) {
  static const size_t buckets = (size_t)1 << RADIX_BITS;
  size_t count[RADIX_PASSES][(size_t)1 << RADIX_BITS];
  memset(count, 0, sizeof count);
  for (size_t i = 0; i < n; i++)
    for (int p = 0; p < RADIX_PASSES; p++) count[p][keys[i] >> (p * RADIX_BITS) & (buckets - 1)]++;
  for (int p = 0; p < RADIX_PASSES; p++) {
    size_t *c = count[p], at = 0;
    if (c[keys[0] >> (p * RADIX_BITS) & (buckets - 1)] == n) continue; /* one digit: in order */
    for (size_t b = 0; b < buckets; b++) { /* counts to starting places */
      size_t k = c[b];
      c[b] = at;
      at += k;
    }
    for (size_t i = 0; i < n; i++) tmp[c[keys[i] >> (p * RADIX_BITS) & (buckets - 1)]++] = keys[i];
    uint64_t *swap = keys;
    keys = tmp;
    tmp = swap;
  }
  return keys;
}

/* Count the n values into p->n_bins equal-width bins over [min, max]; the
 * last bin holds max. Halved differences keep max - min finite for any pair
 * of finite doubles. */
static void histogram(const double *v, size_t n, nn_column_profile *p) {
  double span = p->max / 2 - p->min / 2;
  p->n_bins = p->distinct < NN_PROFILE_BINS ? (int)p->distinct : NN_PROFILE_BINS;
  for (size_t i = 0; i < n; i++) {
    double at = span > 0 ? (v[i] / 2 - p->min / 2) / span * p->n_bins : 0; /* in [0, bins] */
    int k = at >= 1 ? (int)at : 0;
    if (k >= p->n_bins) k = p->n_bins - 1;
    p->bins[k]++;
  }
}

/* Insert (code, count) into the top list, most first, ties by lower code. */
static void top_insert(nn_column_profile *p, int32_t code, uint64_t count) {
  int i = p->n_top < NN_PROFILE_TOP ? p->n_top++ : NN_PROFILE_TOP;
  while (i > 0 && (p->top[i - 1].count < count ||
                   (p->top[i - 1].count == count && p->top[i - 1].code > code))) {
    if (i < NN_PROFILE_TOP) p->top[i] = p->top[i - 1];
    i--;
  }
  if (i < NN_PROFILE_TOP) {
    p->top[i].code = code;
    p->top[i].count = count;
  }
}

int nn_table_profile(const nn_table *t, int column, nn_column_profile *out) {
  const nn_table_column *c = nn_table_column_at(t, column);
  if (c == NULL) return NN_EINVAL;
  memset(out, 0, sizeof *out);
  out->type = c->type;
  out->missing = c->missing;
  out->min = out->max = out->mean = out->std = NAN;
  if (c->type == NN_COL_CATEGORY) {
    for (int32_t k = 0; k < c->n_categories; k++)
      if (c->counts[k] > 0) {
        out->distinct++;
        top_insert(out, k, c->counts[k]);
      }
    return NN_OK;
  }
  size_t n = 0, present = t->rows - c->missing;
  uint64_t trues = 0;
  double mean = 0, m2 = 0, lo = INFINITY, hi = -INFINITY;
  if (present > SIZE_MAX / 2 / sizeof(uint64_t)) return NN_ENOMEM;
  uint64_t *keys = malloc((present ? present : 1) * 2 * sizeof *keys);
  if (keys == NULL) return NN_ENOMEM;
  for (size_t r = 0; r < t->rows; r++) {
    if (c->is_missing[r]) continue;
    double v = c->values[r], d = v - mean;
    keys[n++] = sort_key(v);
    trues += v != 0;
    mean += d / (double)n;       /* mean_n = mean_{n-1} + (v - mean_{n-1}) / n */
    m2 += d * (v - mean);        /* M2_n = M2_{n-1} + (v - mean_{n-1}) (v - mean_n) */
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (n > 0) {
    const double *sorted = key_values(radix_sort(keys, keys + present, n), n);
    out->distinct = 1; /* -0 and 0 are one value, and adjacent */
    for (size_t i = 1; i < n; i++) out->distinct += sorted[i] != sorted[i - 1];
    out->min = lo;
    out->max = hi;
    out->mean = mean;
    out->std = n > 1 ? sqrt(m2 / (double)(n - 1)) : 0.0;
    if (c->type != NN_COL_BOOLEAN) histogram(sorted, n, out);
  }
  if (c->type == NN_COL_BOOLEAN) {
    if (n - trues > 0) top_insert(out, 0, n - trues);
    if (trues > 0) top_insert(out, 1, trues);
  }
  free(keys);
  return NN_OK;
}
