/* test_evaluate.c — core/evaluate.h: hand-made cases for each convention
 * (ties, a class never predicted, one class only, constant targets), and
 * every number of tests/fixtures/sklearn_metrics.txt (made by
 * tests/gen_sklearn_metrics.py with scikit-learn 1.2) to 1e-6 relative. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/evaluate.h"

#define FIXTURE "tests/fixtures/sklearn_metrics.txt"

/* a == b to 1e-6 relative (1e-12 absolute near 0); NAN only equals NAN */
static int near(double a, double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return fabs(a - b) <= 1e-6 * fmax(fabs(a), fabs(b)) + 1e-12;
}

/* ---- hand-made cases ------------------------------------------------------------- */

static void classify(const float *s, size_t n, int outputs, const int32_t *y, int k,
                     nn_eval_class *e) {
  nn_error err;
  cr_assert_eq(nn_eval_classification(s, n, outputs, y, k, e, &err), NN_OK, "%s", err.message);
}

Test(evaluate, ties_count_half) {
  /* scores 0.5 for a positive and a negative: one tie, AUC 0.5; ranked
   * around it a positive at 0.9 and a negative at 0.1: AUC (1 + 1 + 1 + 0.5) / 4 */
  const float s[] = {0.9f, 0.5f, 0.5f, 0.1f};
  const int32_t y[] = {1, 1, 0, 0};
  nn_eval_class e;
  classify(s, 4, 1, y, 2, &e);
  cr_expect(near(e.roc_auc, 0.875), "auc %g", e.roc_auc);
  cr_expect_null(e.roc_auc_undefined);
  /* points: (0, 0) at 1.9, then 0.9 -> (0, .5), 0.5 -> (.5, 1), 0.1 -> (1, 1) */
  cr_assert_eq(e.roc[0].n, 4);
  cr_expect(near(e.roc[0].x[2], 0.5) && near(e.roc[0].y[2], 1.0));
  cr_expect(near(e.roc[0].thresholds[0], 1.9f + 0.0));
  /* AP: recall .5 at precision 1, recall 1 at precision 2/3 */
  cr_expect(near(e.average_precision, 0.5 * 1.0 + 0.5 * (2.0 / 3.0)));
  /* 0.5 >= 0.5 predicts class 1 (as predict does); top-1 needs > 0.5 (sklearn) */
  cr_expect(near(e.accuracy, 0.75));
  cr_expect(near(e.top_k[0], 0.75)); /* rows 0, 2 and 3 right */
  nn_eval_class_clear(&e);
}

Test(evaluate, class_never_predicted_has_precision_zero) {
  const float s[] = {0.8f, 0.1f, 0.1f, 0.2f, 0.7f, 0.1f, 0.6f, 0.3f, 0.1f};
  const int32_t y[] = {0, 1, 2};
  nn_eval_class e;
  classify(s, 3, 3, y, 3, &e);
  cr_expect_eq(e.per_class[2].precision, 0.0);
  cr_expect_eq(e.per_class[2].recall, 0.0);
  cr_expect_eq(e.per_class[2].f1, 0.0);
  cr_expect_eq(e.per_class[2].support, 1);
  cr_expect_eq(e.confusion[2 * 3 + 0], 1); /* class 2 predicted as 0 */
  cr_expect(near(e.per_class[0].precision, 0.5));
  cr_expect(near(e.macro_precision, (0.5 + 1.0 + 0.0) / 3));
  cr_expect(near(e.balanced_accuracy, 2.0 / 3));
  cr_expect_eq(e.n_top_k, 2);
  cr_expect(near(e.top_k[1], 2.0 / 3)); /* class 2 ranks third in its row */
  nn_eval_class_clear(&e);
}

Test(evaluate, one_class_only_leaves_roc_auc_undefined) {
  const float s[] = {0.2f, 0.7f, 0.4f};
  const int32_t y[] = {0, 0, 0};
  nn_eval_class e;
  classify(s, 3, 1, y, 2, &e);
  cr_expect(isnan(e.roc_auc));
  cr_expect_not_null(e.roc_auc_undefined);
  cr_expect_eq(e.roc[0].n, 0);
  cr_expect_eq(e.average_precision, 0.0); /* no positive: sklearn's 0 */
  cr_expect(isfinite(e.log_loss));
  /* macro averages over the classes present: 0 in the targets, 1 predicted */
  cr_expect(near(e.macro_recall, (2.0 / 3 + 0.0) / 2));
  cr_expect(near(e.balanced_accuracy, 2.0 / 3));
  nn_eval_class_clear(&e);
}

Test(evaluate, log_loss_clips_certain_mistakes) {
  const float s[] = {0.0f, 1.0f};
  const int32_t y[] = {1, 0};
  nn_eval_class e;
  classify(s, 2, 1, y, 2, &e);
  cr_expect(near(e.log_loss, -log(DBL_EPSILON)), "%g", e.log_loss);
  nn_eval_class_clear(&e);
}

Test(evaluate, curves_thin_to_the_limit_keeping_the_ends) {
  enum { N = 1000 };
  float *s = malloc(N * sizeof(float));
  int32_t *y = malloc(N * sizeof(int32_t));
  for (int i = 0; i < N; i++) {
    s[i] = (float)i / N;
    y[i] = (i * 7) % 3 == 0;
  }
  nn_eval_class e;
  classify(s, N, 1, y, 2, &e);
  cr_assert_eq(e.pr[0].n, NN_EVAL_CURVE_POINTS);
  cr_expect_eq(e.pr[0].n_thresholds, NN_EVAL_CURVE_POINTS - 1);
  cr_expect(e.pr[0].x[0] == 1.0 && e.pr[0].x[NN_EVAL_CURVE_POINTS - 1] == 0.0);
  cr_expect(e.pr[0].y[NN_EVAL_CURVE_POINTS - 1] == 1.0);
  cr_assert_leq(e.roc[0].n, NN_EVAL_CURVE_POINTS);
  cr_expect(e.roc[0].x[0] == 0.0 && e.roc[0].x[e.roc[0].n - 1] == 1.0);
  nn_eval_class_clear(&e);
  free(s);
  free(y);
}

Test(evaluate, classification_refuses_bad_input) {
  const float s[] = {0.5f, NAN};
  const int32_t y[] = {0, 3};
  nn_eval_class e;
  nn_error err;
  cr_expect_eq(nn_eval_classification(s, 0, 1, y, 2, &e, &err), NN_EINVAL);
  cr_expect_eq(nn_eval_classification(s, 1, 2, y, 3, &e, &err), NN_EINVAL);
  cr_expect_str_eq(err.field, "scores");
  cr_expect_eq(nn_eval_classification(s, 2, 1, y, 2, &e, &err), NN_EINVAL);
  cr_expect_str_eq(err.field, "labels");
  cr_expect_eq(nn_eval_classification(s, 1, 2, y, 2, &e, &err), NN_EINVAL);
  cr_expect_str_eq(err.field, "scores");
  cr_expect_eq(nn_eval_classification(s, 1, 1, y, 1, &e, &err), NN_EINVAL);
  cr_expect_eq(nn_eval_classification(s, 1, 1, y, NN_EVAL_MAX_CLASSES + 1, &e, &err),
               NN_ERANGE);
}

Test(evaluate, constant_targets_follow_force_finite) {
  const float t[] = {2.0f, 2.0f, 2.0f, 2.0f};
  const float exact[] = {2.0f, 2.0f, 2.0f, 2.0f}, off[] = {1.0f, 2.0f, 3.0f, 2.0f};
  nn_eval_regress e;
  nn_error err;
  cr_assert_eq(nn_eval_regression(exact, t, 4, 1, &e, &err), NN_OK);
  cr_expect_eq(e.mean.r2, 1.0);
  cr_expect_eq(e.mean.explained_variance, 1.0);
  cr_expect_eq(e.mean.mse, 0.0);
  nn_eval_regress_clear(&e);
  cr_assert_eq(nn_eval_regression(off, t, 4, 1, &e, &err), NN_OK);
  cr_expect_eq(e.mean.r2, 0.0);
  cr_expect_eq(e.mean.explained_variance, 0.0);
  cr_expect(near(e.mean.mse, 0.5));
  cr_expect(near(e.mean.max_error, 1.0));
  cr_expect(near(e.mean.median_absolute_error, 0.5));
  /* residuals -1, 0, 0, 1 */
  cr_expect(near(e.per_output[0].quantiles[0], -1.0));
  cr_expect(near(e.per_output[0].quantiles[4], 0.0));
  cr_expect(near(e.per_output[0].quantiles[3], -0.25)); /* index 0.75 */
  cr_expect_null(e.r2_undefined);
  nn_eval_regress_clear(&e);
}

Test(evaluate, r2_of_one_row_is_undefined) {
  const float p[] = {1.0f}, t[] = {3.0f};
  nn_eval_regress e;
  cr_assert_eq(nn_eval_regression(p, t, 1, 1, &e, NULL), NN_OK);
  cr_expect(isnan(e.mean.r2));
  cr_expect_not_null(e.r2_undefined);
  cr_expect(near(e.mean.mae, 2.0));
  nn_eval_regress_clear(&e);
}

Test(evaluate, regression_refuses_bad_input) {
  const float p[] = {1.0f, INFINITY}, t[] = {3.0f, 1.0f};
  nn_eval_regress e;
  nn_error err;
  cr_expect_eq(nn_eval_regression(p, t, 0, 1, &e, &err), NN_EINVAL);
  cr_expect_eq(nn_eval_regression(p, t, 2, 1, &e, &err), NN_EINVAL);
  cr_expect_str_eq(err.field, "pred");
  cr_expect_eq(nn_eval_regression(p, t, 1, 0, &e, &err), NN_EINVAL);
}

Test(evaluate, sample_rows_spread_evenly) {
  size_t rows[4];
  cr_expect_eq(nn_eval_sample_rows(10, 4, rows), 4);
  cr_expect(rows[0] == 0 && rows[1] == 2 && rows[2] == 5 && rows[3] == 7);
  cr_expect_eq(nn_eval_sample_rows(3, 4, rows), 3);
  cr_expect(rows[0] == 0 && rows[1] == 1 && rows[2] == 2);
  cr_expect_eq(nn_eval_sample_rows(0, 4, rows), 0);
}

/* ---- against scikit-learn ---------------------------------------------------------- */

typedef struct {
  char name[48];
  size_t n;
  double *v;
} tensor;

typedef struct {
  char name[64];
  int regression;
  size_t rows;
  int outputs, classes;
  int n_tensors;
  tensor t[64];
} fixture;

static const tensor *get(const fixture *f, const char *name) {
  for (int i = 0; i < f->n_tensors; i++)
    if (strcmp(f->t[i].name, name) == 0) return &f->t[i];
  cr_assert_fail("case %s has no tensor %s", f->name, name);
  return NULL;
}

/* Compare n computed numbers with the fixture's tensor name. */
static void expect(const fixture *f, const char *name, const double *got, size_t n) {
  const tensor *t = get(f, name);
  cr_expect_eq(t->n, n, "%s %s: %zu numbers, fixture has %zu", f->name, name, n, t->n);
  for (size_t i = 0; i < n && i < t->n; i++)
    cr_expect(near(got[i], t->v[i]), "%s %s[%zu]: %.17g, sklearn %.17g", f->name, name, i,
              got[i], t->v[i]);
}

static void expect_curve(const fixture *f, const char *x, const char *y, const char *thr,
                         const nn_eval_curve *c) {
  expect(f, x, c->x, c->n);
  expect(f, y, c->y, c->n);
  expect(f, thr, c->thresholds, c->n_thresholds);
}

static void check_classification(const fixture *f) {
  const tensor *s = get(f, "scores"), *l = get(f, "labels");
  size_t n = f->rows, K = (size_t)f->classes;
  float *scores = malloc(s->n * sizeof(float));
  int32_t *labels = malloc(n * sizeof(int32_t));
  for (size_t i = 0; i < s->n; i++) scores[i] = (float)s->v[i];
  for (size_t i = 0; i < n; i++) labels[i] = (int32_t)l->v[i];
  nn_eval_class e;
  classify(scores, n, f->outputs, labels, f->classes, &e);
  expect(f, "accuracy", &e.accuracy, 1);
  expect(f, "balanced_accuracy", &e.balanced_accuracy, 1);
  expect(f, "log_loss", &e.log_loss, 1);
  expect(f, "roc_auc", &e.roc_auc, 1);
  cr_expect_eq(isnan(e.roc_auc), e.roc_auc_undefined != NULL);
  expect(f, "average_precision", &e.average_precision, 1);
  expect(f, "top_k", e.top_k, (size_t)e.n_top_k);
  double *v = malloc(K * K * sizeof(double));
  static const char *const names[] = {"precision", "recall", "f1", "support",
                                      "class_roc_auc", "class_average_precision"};
  for (int m = 0; m < 6; m++) {
    for (size_t k = 0; k < K; k++) {
      const nn_eval_class_stats *c = &e.per_class[k];
      double x[] = {c->precision, c->recall, c->f1, (double)c->support, c->roc_auc,
                    c->average_precision};
      v[k] = x[m];
    }
    expect(f, names[m], v, K);
  }
  double macro[] = {e.macro_precision, e.macro_recall, e.macro_f1};
  double weighted[] = {e.weighted_precision, e.weighted_recall, e.weighted_f1};
  expect(f, "macro", macro, 3);
  expect(f, "weighted", weighted, 3);
  for (size_t i = 0; i < K * K; i++) v[i] = (double)e.confusion[i];
  expect(f, "confusion", v, K * K);
  for (int c = 0; c < e.n_curves; c++) {
    char x[48], y[48], t[48];
    int k = e.curve_class[c];
    if (e.roc[c].n > 0) {
      snprintf(x, sizeof x, "roc_fpr.%d", k);
      snprintf(y, sizeof y, "roc_tpr.%d", k);
      snprintf(t, sizeof t, "roc_thresholds.%d", k);
      expect_curve(f, x, y, t, &e.roc[c]);
    }
    snprintf(x, sizeof x, "pr_recall.%d", k);
    snprintf(y, sizeof y, "pr_precision.%d", k);
    snprintf(t, sizeof t, "pr_thresholds.%d", k);
    expect_curve(f, x, y, t, &e.pr[c]);
  }
  free(v);
  nn_eval_class_clear(&e);
  free(scores);
  free(labels);
}

static void seven(const nn_eval_output *o, double out[7]) {
  double v[] = {o->mse, o->rmse, o->mae, o->median_absolute_error, o->r2,
                o->explained_variance, o->max_error};
  memcpy(out, v, sizeof v);
}

static void check_regression(const fixture *f) {
  const tensor *p = get(f, "pred"), *t = get(f, "target");
  float *pred = malloc(p->n * sizeof(float)), *target = malloc(t->n * sizeof(float));
  for (size_t i = 0; i < p->n; i++) pred[i] = (float)p->v[i];
  for (size_t i = 0; i < t->n; i++) target[i] = (float)t->v[i];
  nn_eval_regress e;
  nn_error err;
  cr_assert_eq(nn_eval_regression(pred, target, f->rows, f->outputs, &e, &err), NN_OK, "%s",
               err.message);
  double v[7];
  seven(&e.mean, v);
  expect(f, "mean", v, 7);
  for (int c = 0; c < f->outputs; c++) {
    char name[48];
    seven(&e.per_output[c], v);
    snprintf(name, sizeof name, "output.%d", c);
    expect(f, name, v, 7);
    snprintf(name, sizeof name, "quantiles.%d", c);
    expect(f, name, e.per_output[c].quantiles, NN_EVAL_QUANTILES);
  }
  nn_eval_regress_clear(&e);
  free(pred);
  free(target);
}

static void fixture_clear(fixture *f) {
  for (int i = 0; i < f->n_tensors; i++) free(f->t[i].v);
  memset(f, 0, sizeof *f);
}

Test(evaluate, every_number_matches_sklearn) {
  FILE *in = fopen(FIXTURE, "r");
  cr_assert_not_null(in, "cannot open %s (run from the repository root)", FIXTURE);
  char line[256], kind[32];
  fixture f = {0};
  int cases = 0;
  while (fscanf(in, " %255s", line) == 1) {
    if (line[0] == '#') {
      cr_assert_not_null(fgets(line, sizeof line, in)); /* the rest of the comment */
    } else if (strcmp(line, "case") == 0) {
      cr_assert_eq(fscanf(in, " %63s %31s %zu %d", f.name, kind, &f.rows, &f.outputs), 4);
      f.regression = strcmp(kind, "regression") == 0;
      if (!f.regression) cr_assert_eq(fscanf(in, " %d", &f.classes), 1);
    } else if (strcmp(line, "tensor") == 0) {
      cr_assert_lt(f.n_tensors, 64);
      tensor *t = &f.t[f.n_tensors++];
      cr_assert_eq(fscanf(in, " %47s %zu", t->name, &t->n), 2);
      t->v = malloc((t->n ? t->n : 1) * sizeof(double));
      for (size_t i = 0; i < t->n; i++) {
        cr_assert_eq(fscanf(in, " %255s", line), 1);
        t->v[i] = strtod(line, NULL); /* "nan" too */
      }
    } else {
      cr_assert_str_eq(line, "end");
      if (f.regression)
        check_regression(&f);
      else
        check_classification(&f);
      cases++;
      fixture_clear(&f);
    }
  }
  fclose(in);
  cr_expect_geq(cases, 12, "only %d cases in %s", cases, FIXTURE);
}
