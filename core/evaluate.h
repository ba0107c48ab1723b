/*
 * evaluate.h — how good a model's predictions are: the metrics of
 * scikit-learn 1.2's sklearn.metrics, computed from predictions and
 * targets (core/eval_class.c for classification, core/eval_regress.c for
 * regression, core/eval_curve.c for the ranking curves both share).
 *
 * Every number is what sklearn computes on the same predictions, in double
 * precision; where sklearn leaves a number undefined (NaN and a warning)
 * the result holds NAN and a static sentence saying why, so a caller that
 * writes JSON writes null and the sentence, never a NaN. The conventions,
 * each sklearn's own (the call that gives the same number in brackets):
 *  - precision of a class never predicted, recall of a class absent from
 *    the targets, F1 when both are 0: 0 (zero_division=0);
 *  - macro averages run over the classes present in the targets or the
 *    predictions (labels=None), per-class rows cover every class;
 *  - balanced accuracy: mean recall over the classes present in the targets;
 *  - log loss clips probabilities to [eps, 1 - eps], eps = DBL_EPSILON
 *    (eps="auto" for float64 input), and renormalizes each row to sum 1
 *    (log_loss(labels=range(K)));
 *  - ROC AUC with tied scores counts half (the trapezoid over distinct
 *    thresholds); undefined when the targets hold one class only, and for
 *    several classes (one-vs-rest, macro) when any class is absent from the
 *    targets or is every row (roc_auc_score(multi_class="ovr"));
 *  - average precision of a class with no positive row is 0
 *    (average_precision_score, the multiclass one on label_binarize(y,
 *    range(K)));
 *  - R² and explained variance of constant targets: 1 when the
 *    predictions are exact, else 0 (force_finite=True); R² of fewer than 2
 *    rows is undefined.
 *
 * Costs: O(n log n) per class for the ranking metrics (a sort of the
 * scores), O(n) otherwise; memory: the result, plus while computing 56
 * bytes a row for a classification (a ranking and the points it yields),
 * 8 for a regression.
 */
#ifndef NN_EVALUATE_H
#define NN_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

#define NN_EVAL_CURVE_POINTS 200   /* at most, per ROC or precision-recall curve */
#define NN_EVAL_MAX_TOP_K 5        /* top-k accuracies reported: k = 1..min(5, K - 1) */
#define NN_EVAL_QUANTILES 9        /* residual quantiles, at nn_eval_quantile_levels */
#define NN_EVAL_MAX_CLASSES 256    /* classes of one classification evaluation: its curves
                                      * and matrix stay within a few megabytes */

/* A curve of n points; a point thinned away leaves its neighbours. When a
 * class's curve is undefined (ROC with no positive or no negative row), n is
 * 0 and the arrays NULL. */
typedef struct {
  size_t n;           /* points */
  double *x;          /* (n,): ROC false positive rate; PR recall (decreasing) */
  double *y;          /* (n,): ROC true positive rate; PR precision */
  size_t n_thresholds; /* ROC: n; PR: n - 1 (its last point, (0, 1), has none) */
  double *thresholds; /* (n_thresholds,): the score at and above which rows are positive */
} nn_eval_curve;

typedef struct {
  double precision, recall, f1;
  size_t support;           /* rows of this class in the targets */
  double roc_auc;           /* one-vs-rest; NAN when the class is every row or none */
  double average_precision; /* one-vs-rest */
} nn_eval_class_stats;

typedef struct {
  size_t rows;
  int classes; /* K >= 2 */
  double accuracy;
  double balanced_accuracy;
  double log_loss;
  double roc_auc;                /* binary, or one-vs-rest macro; NAN: see roc_auc_undefined */
  const char *roc_auc_undefined; /* a static sentence when roc_auc is NAN, else NULL */
  double average_precision;      /* binary, or one-vs-rest macro */
  int n_top_k;                   /* k = 1..n_top_k */
  double top_k[NN_EVAL_MAX_TOP_K]; /* top_k[k - 1]: share of rows whose class is among the k best */
  double macro_precision, macro_recall, macro_f1;
  double weighted_precision, weighted_recall, weighted_f1;
  nn_eval_class_stats *per_class; /* (classes,) */
  uint64_t *confusion;            /* (classes, classes): [actual * classes + predicted] */
  int n_curves;     /* 1 (the positive class) for K = 2, else K (one-vs-rest) */
  int *curve_class; /* (n_curves,): the class each curve is for */
  nn_eval_curve *roc; /* (n_curves,) */
  nn_eval_curve *pr;  /* (n_curves,) */
} nn_eval_class;

/**
 * Evaluate a classifier.
 * @param scores  (n, outputs): the model's outputs; outputs == classes
 *                (one score per class, e.g. softmax probabilities), or
 *                outputs == 1 and classes == 2 (a sigmoid's probability of
 *                class 1)
 * @param labels  (n,): target classes in [0, classes)
 * @param out     filled on NN_OK; release with nn_eval_class_clear (also on failure)
 * The predicted class of a row is its first highest score, or class 1 when
 * a single output is >= 0.5, as the daemon's predict labels rows. A row's
 * probabilities are its scores (with 1 - p beside a single p), clipped and
 * renormalized for the log loss; the ranking metrics use the scores as they
 * are (sklearn requires softmax-like rows for multiclass ROC AUC).
 * @return NN_OK; NN_EINVAL for n 0, a label out of range, shapes that do not
 *         fit, or a score that is not finite (field "scores" or "labels");
 *         NN_ERANGE above NN_EVAL_MAX_CLASSES; NN_ENOMEM
 */
int nn_eval_classification(const float *scores, size_t n, int outputs, const int32_t *labels,
                           int classes, nn_eval_class *out, nn_error *err);

void nn_eval_class_clear(nn_eval_class *e);

/* The metrics of one target column (or their averages, see nn_eval_regress). */
typedef struct {
  double mse, rmse, mae;
  double median_absolute_error;
  double r2;                 /* NAN for fewer than 2 rows (r2_undefined says so) */
  double explained_variance;
  double max_error;
  double quantiles[NN_EVAL_QUANTILES]; /* of actual - predicted, at nn_eval_quantile_levels */
} nn_eval_output;

typedef struct {
  size_t rows;
  int outputs;
  /* sklearn's multioutput="uniform_average" of the columns' metrics
   * (rmse: the mean of their rmse), max_error the largest of theirs (sklearn
   * has no multioutput max_error); quantiles unset (see per_output) */
  nn_eval_output mean;
  const char *r2_undefined;  /* a static sentence when r2 is NAN, else NULL */
  nn_eval_output *per_output; /* (outputs,) */
} nn_eval_regress;

/** The residual quantile levels, (NN_EVAL_QUANTILES,): 0, .01, .05, .25, .5, .75, .95, .99, 1. */
extern const double nn_eval_quantile_levels[NN_EVAL_QUANTILES];

/**
 * Evaluate a regressor.
 * @param pred   (n, outputs) predictions
 * @param target (n, outputs) true values
 * @param out    filled on NN_OK; release with nn_eval_regress_clear (also on failure)
 * Quantiles interpolate linearly between order statistics (numpy's default).
 * @return NN_OK; NN_EINVAL for n 0, outputs < 1 or a value that is not
 *         finite; NN_ENOMEM
 */
int nn_eval_regression(const float *pred, const float *target, size_t n, int outputs,
                       nn_eval_regress *out, nn_error *err);

void nn_eval_regress_clear(nn_eval_regress *e);

/**
 * Pick at most max of n rows for a sample, spread evenly and the same every
 * time: row i of m = min(n, max) is floor(i * n / m).
 * @param rows (min(n, max),)
 * @return the number of rows picked
 */
size_t nn_eval_sample_rows(size_t n, size_t max, size_t *rows);

#endif
