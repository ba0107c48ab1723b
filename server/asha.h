/*
 * asha.h — asynchronous successive halving (ASHA; Li et al., "A System for
 * Massively Parallel Hyperparameter Tuning", 2018) as a pure function over a
 * table of trial results.
 *
 * Rungs are epoch counts: min_epochs * rf^k while below max_epochs, then
 * max_epochs. Every trial starts at rung 0. When a worker is free, ASHA looks
 * from the highest rung down for a trial that has completed rung k, is in the
 * top floor(n_k / rf) of the n_k trials that have completed rung k, and has
 * not been promoted yet; that trial is promoted to rung k + 1. Otherwise a
 * new trial starts at rung 0.
 */
#ifndef TRAIND_ASHA_H
#define TRAIND_ASHA_H

#include <stddef.h>

#define ASHA_MAX_RUNGS 32

typedef struct {
  int reduction_factor; /* rf >= 2 */
  int min_epochs;       /* rung 0's epochs, >= 1 */
  int max_epochs;       /* the last rung's epochs, >= min_epochs */
  int maximize;         /* 1: a larger metric is better (val_accuracy) */
} asha_config;

typedef enum { ASHA_RUNNING, ASHA_DONE, ASHA_FAILED } asha_state;

/* One trial at one rung: a trial promoted to rung k + 1 has a row there
 * (running until it completes it) besides its done row at rung k. */
typedef struct {
  int trial;        /* the trial's index, >= 0 */
  int rung;         /* 0-based */
  asha_state state;
  double metric;    /* at the end of the rung; read only when done */
} asha_row;

/**
 * The rungs' epoch counts.
 * @return the number of rungs (1..ASHA_MAX_RUNGS)
 */
int asha_rungs(const asha_config *c, int epochs[ASHA_MAX_RUNGS]);

/**
 * Whether trial, having completed rung, is in the top floor(n / rf) of the n
 * trials that have completed that rung (done or failed): ranked by metric in
 * the config's direction, ties by the lower trial index; a failed trial ranks
 * below every done one and is never promoted, nor is a trial at the last rung.
 * @return 1 or 0
 */
int asha_promotable(const asha_config *c, const asha_row *rows, size_t n, int trial, int rung);

/**
 * The promotion to make now: over rungs from the highest promotable one down,
 * the best ranked promotable trial without a row at the next rung.
 * @return 1 with *trial and *rung (the rung it completed) set, or 0 when none
 */
int asha_next(const asha_config *c, const asha_row *rows, size_t n, int *trial, int *rung);

#endif
