/*
 * eval_internal.h — what core's evaluation files share (evaluate.h): the
 * ranking of one class against the rest, behind ROC AUC, average precision
 * and both curves. Not public API.
 */
#ifndef NN_EVAL_INTERNAL_H
#define NN_EVAL_INTERNAL_H

#include "evaluate.h"

/* A row as the ranking sees it: its score and whether it is a positive. */
typedef struct {
  float score;
  int32_t positive;
} nn__eval_rank;

/* One class against the rest, as sklearn's roc_auc_score,
 * average_precision_score, roc_curve and precision_recall_curve see it. */
typedef struct {
  double roc_auc;           /* NAN when the rows hold no positive or no negative */
  double average_precision; /* 0 when there is no positive (sklearn's value) */
  nn_eval_curve roc;        /* n 0 when roc_auc is NAN */
  nn_eval_curve pr;
} nn__eval_binary;

/**
 * Rank n rows (sorted in place, highest score first) and measure them.
 * @param rows (n,), n >= 1
 * @param curves fill out->roc and out->pr (thinned to NN_EVAL_CURVE_POINTS),
 *               or leave them empty
 * @return NN_OK or NN_ENOMEM (out's curves then empty)
 */
int nn__eval_rank_binary(nn__eval_rank *rows, size_t n, int curves, nn__eval_binary *out);

void nn__eval_curve_clear(nn_eval_curve *c);

#endif
