/*
 * asha.c — the ASHA promotion rule over a table of (trial, rung, state,
 * metric) rows.
 *
 * The table is small (trials x rungs, a search has at most a thousand trials
 * and 32 rungs), so every question is answered by scanning it: a trial's rank
 * at a rung is one plus the number of rows at that rung that beat it. "Beat"
 * is a strict total order — done before failed, then the better metric, then
 * the lower trial index — so ranks are distinct and the answer depends on the
 * table's contents only, never on its row order. Costs: O(n) per rank, O(n^2)
 * for asha_next; nothing allocated.
 */
#include "asha.h"

#include <assert.h>

int asha_rungs(const asha_config *c, int epochs[ASHA_MAX_RUNGS]) {
  assert(c->reduction_factor >= 2 && c->min_epochs >= 1 && c->max_epochs >= c->min_epochs);
  int n = 0;
  long long e = c->min_epochs;
  while (e < c->max_epochs && n < ASHA_MAX_RUNGS - 1) {
    epochs[n++] = (int)e;
    e *= c->reduction_factor; /* e < max_epochs <= INT_MAX, rf < INT_MAX: fits a long long */
  }
  epochs[n++] = c->max_epochs;
  return n;
}

/* a beats b at the same rung */
static int beats(const asha_config *c, const asha_row *a, const asha_row *b) {
  if ((a->state == ASHA_FAILED) != (b->state == ASHA_FAILED)) return b->state == ASHA_FAILED;
  if (a->state != ASHA_FAILED && a->metric != b->metric)
    return c->maximize ? a->metric > b->metric : a->metric < b->metric;
  return a->trial < b->trial;
}

static const asha_row *find(const asha_row *rows, size_t n, int trial, int rung) {
  for (size_t i = 0; i < n; i++)
    if (rows[i].trial == trial && rows[i].rung == rung) return &rows[i];
  return NULL;
}

int asha_promotable(const asha_config *c, const asha_row *rows, size_t n, int trial, int rung) {
  int epochs[ASHA_MAX_RUNGS];
  if (rung >= asha_rungs(c, epochs) - 1) return 0;
  const asha_row *me = find(rows, n, trial, rung);
  if (!me || me->state != ASHA_DONE) return 0;
  size_t completed = 0, better = 0;
  for (size_t i = 0; i < n; i++) {
    if (rows[i].rung != rung || rows[i].state == ASHA_RUNNING) continue;
    completed++;
    if (&rows[i] != me && beats(c, &rows[i], me)) better++;
  }
  return better < completed / (size_t)c->reduction_factor;
}

int asha_next(const asha_config *c, const asha_row *rows, size_t n, int *trial, int *rung) {
  int epochs[ASHA_MAX_RUNGS];
  for (int k = asha_rungs(c, epochs) - 2; k >= 0; k--) {
    const asha_row *best = NULL;
    for (size_t i = 0; i < n; i++) {
      const asha_row *r = &rows[i];
      if (r->rung != k || find(rows, n, r->trial, k + 1)) continue;
      if (!asha_promotable(c, rows, n, r->trial, k)) continue;
      if (!best || beats(c, r, best)) best = r;
    }
    if (best) {
      *trial = best->trial;
      *rung = k;
      return 1;
    }
  }
  return 0;
}
