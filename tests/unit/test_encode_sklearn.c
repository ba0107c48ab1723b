/* test_encode_sklearn.c — the encoding against scikit-learn's
 * SimpleImputer + StandardScaler and OneHotEncoder on a small mixed table
 * (tests/fixtures/sklearn_encoding.txt, written by
 * tests/gen_sklearn_encoding.py, which documents the format). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table_util.h"

#define FIXTURE "tests/fixtures/sklearn_encoding.txt"

typedef struct {
  char csv[4096];
  size_t train;
  int rows, cols;
  double x[64][8];
} reference;

/* The CSV, the training rows and the case for impute. */
static void load(const char *impute, reference *ref) {
  FILE *f = fopen(FIXTURE, "r");
  char line[1024], name[64], imp[16];
  int n = 0;
  cr_assert_not_null(f, "cannot open %s", FIXTURE);
  memset(ref, 0, sizeof *ref);
  cr_assert(fgets(line, sizeof line, f) && sscanf(line, "csv %d", &n) == 1);
  for (int i = 0; i < n; i++) {
    cr_assert(fgets(line, sizeof line, f) != NULL);
    strcat(ref->csv, line);
  }
  cr_assert(fgets(line, sizeof line, f) && sscanf(line, "train %zu", &ref->train) == 1);
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "case %63s %15s %d %d", name, imp, &ref->rows, &ref->cols) != 4) continue;
    if (strcmp(imp, impute) != 0) continue;
    cr_assert(ref->rows <= 64 && ref->cols <= 8);
    for (int r = 0; r < ref->rows; r++)
      for (int c = 0; c < ref->cols; c++) cr_assert_eq(fscanf(f, "%lf", &ref->x[r][c]), 1);
    fclose(f);
    return;
  }
  fclose(f);
  cr_assert_fail("no case for %s", impute);
}

static void compare(nn_impute impute, const char *name) {
  reference ref;
  load(name, &ref);
  nn_table *t = table_ok(ref.csv);
  nn_encode_options o;
  nn_encode_options_defaults(&o);
  o.by_type[NN_COL_NUMBER].impute = impute;
  o.by_type[NN_COL_INTEGER].impute = impute;
  uint32_t train[64];
  for (uint32_t i = 0; i < ref.train; i++) train[i] = i;
  nn_encoder *e = NULL;
  nn_error err;
  cr_assert_eq(nn_encoder_fit(t, train, ref.train, &o, &e, &err), NN_OK, "%s", err.message);
  int w = nn_encoder_width(e);
  cr_assert_eq(w, ref.cols + 1, "sklearn's outputs and the other slot");
  float *x = calloc((size_t)ref.rows * (size_t)w, sizeof *x);
  cr_assert_eq(nn_encoder_apply(e, t, NULL, (size_t)ref.rows, x, &err), NN_OK, "%s", err.message);
  for (int r = 0; r < ref.rows; r++) {
    for (int c = 0; c < ref.cols; c++) {
      double want = ref.x[r][c], got = x[r * w + c];
      /* float32 outputs: a relative error of 2^-24 plus rounding in the statistics */
      cr_assert(fabs(got - want) <= 1e-6 * fmax(1.0, fabs(want)), "%s: row %d, output %d: %.9g, "
                "sklearn %.9g", name, r, c, got, want);
    }
    float other = x[r * w + ref.cols];
    cr_assert_eq(other, r == 10 ? 1.0f : 0.0f, "row %d: other slot %g", r, (double)other);
  }
  free(x);
  nn_encoder_free(e);
  nn_table_free(t);
}

Test(encode_sklearn, mean_impute_scale_one_hot) { compare(NN_IMPUTE_MEAN, "mean"); }

Test(encode_sklearn, median_impute_scale_one_hot) { compare(NN_IMPUTE_MEDIAN, "median"); }
