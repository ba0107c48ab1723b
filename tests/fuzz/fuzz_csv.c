/*
 * fuzz_csv.c — CSV data sets, POST /v1/datasets?target=... with text/csv
 * (parse_csv), fed in chunks as the body streams in, with the typed path on
 * (parse_csv_typed: a body that is not numbers all through becomes a table).
 *
 * Input: one byte choosing the chunk size (1..64), the ?target= value up to
 * the first newline, then the CSV body. The body is parsed twice, in chunks
 * and in one piece: both give the same result, since chunk boundaries must
 * not matter. A body that parses yields rows x features finite floats, and
 * either one finite column per target or labels indexing a sorted list of
 * distinct class names; or a typed table of a target and its feature
 * columns, some rows with a target.
 */
#include <math.h>

#include "../../core/table.h"
#include "../../server/parse_csv.h"
#include "fuzz.h"

typedef struct {
  int rc;
  api_error err;
  parse_dataset_out d;
} outcome;

static void parse(const char *target, const char *body, size_t len, size_t chunk, outcome *o) {
  parse_csv *p = NULL;
  memset(o, 0, sizeof *o);
  parse_table_options typed = {0};
  o->rc = parse_csv_new(target, &p, &o->err);
  if (o->rc == 0) o->rc = parse_csv_typed(p, &typed, &o->err);
  if (o->rc != 0) {
    fuzz_check_refusal(o->rc, &o->err, API_INVALID_ARGUMENT);
    FUZZ_CHECK(strcmp(o->err.field, "target") == 0, "target refused as %s", o->err.field);
    return;
  }
  for (size_t off = 0; off < len && o->rc == 0; off += chunk)
    o->rc = parse_csv_feed(p, body + off, len - off < chunk ? len - off : chunk, &o->err);
  if (o->rc == 0) o->rc = parse_csv_finish(p, &o->d, &o->err);
  if (o->rc != 0) {
    fuzz_check_refusal(o->rc, &o->err, API_INVALID_ARGUMENT);
    FUZZ_CHECK(o->d.x == NULL && o->d.y == NULL && o->d.labels == NULL && o->d.table == NULL,
               "a refusal keeps data");
  }
  parse_csv_free(p);
}

static size_t count_targets(const char *target) {
  size_t n = 1;
  for (const char *s = target; *s != '\0'; s++) n += *s == ',';
  return n;
}

static void check_classes(const parse_dataset_out *d);

/* A typed table: its target and features, some rows with a target. */
static void check_table(const parse_dataset_out *d, size_t targets) {
  FUZZ_CHECK(targets == 1 && d->x == NULL && d->y == NULL && d->labels == NULL,
             "a table with numbers");
  FUZZ_CHECK(nn_table_rows(d->table) == d->rows && nn_table_columns(d->table) == d->features + 1,
             "a table of %zu rows, %d columns", d->rows, nn_table_columns(d->table));
  FUZZ_CHECK(d->rows_without_target < d->rows, "no row has a target");
  int t = nn_table_find(d->table, d->target, strlen(d->target));
  FUZZ_CHECK(t >= 0 && nn_table_column_at(d->table, t)->missing == d->rows_without_target,
             "the target's missing cells");
  if (d->task == PARSE_TASK_CLASSIFICATION) check_classes(d);
  else FUZZ_CHECK(d->outputs == 1 && d->n_classes == 0, "a regression of %d", d->outputs);
}

static void check_data(const parse_dataset_out *d, size_t targets) {
  if (d->table != NULL) {
    check_table(d, targets);
    return;
  }
  FUZZ_CHECK(d->rows >= 1 && d->features >= 1, "%zu rows of %d features", d->rows, d->features);
  for (size_t i = 0; i < d->rows * (size_t)d->features; i++)
    FUZZ_CHECK(isfinite(d->x[i]), "x[%zu] is %g", i, (double)d->x[i]);
  if (d->task == PARSE_TASK_REGRESSION) {
    FUZZ_CHECK(d->y != NULL && d->labels == NULL && d->n_classes == 0, "regression with labels");
    FUZZ_CHECK((size_t)d->outputs == targets, "%d outputs for %zu targets", d->outputs, targets);
    for (size_t i = 0; i < d->rows * (size_t)d->outputs; i++)
      FUZZ_CHECK(isfinite(d->y[i]), "y[%zu] is %g", i, (double)d->y[i]);
    return;
  }
  FUZZ_CHECK(targets == 1 && d->y == NULL && d->labels != NULL, "classification of %zu targets",
             targets);
  check_classes(d);
  for (size_t i = 0; i < d->rows; i++)
    FUZZ_CHECK(d->labels[i] >= 0 && d->labels[i] < d->n_classes, "label %zu is %d", i,
               (int)d->labels[i]);
}

static void check_classes(const parse_dataset_out *d) {
  FUZZ_CHECK(d->n_classes >= 1 && d->n_classes <= PARSE_MAX_CLASSES &&
                 d->outputs == d->n_classes,
             "%d classes, %d outputs", d->n_classes, d->outputs);
  for (int k = 0; k < d->n_classes; k++) {
    size_t len = strlen(d->classes[k]);
    FUZZ_CHECK(len >= 1 && len <= PARSE_CLASS_NAME_MAX, "class %d has %zu bytes", k, len);
    FUZZ_CHECK(k == 0 || strcmp(d->classes[k - 1], d->classes[k]) < 0,
               "classes %d and %d are out of order", k - 1, k);
  }
}

static void check_same(const outcome *a, const outcome *b) {
  FUZZ_CHECK(a->rc == b->rc, "rc %d in chunks, %d whole (%s / %s)", a->rc, b->rc,
             a->err.message, b->err.message);
  if (a->rc != 0) {
    FUZZ_CHECK(strcmp(a->err.field, b->err.field) == 0 &&
                   strcmp(a->err.message, b->err.message) == 0,
               "errors differ: %s / %s", a->err.message, b->err.message);
    return;
  }
  const parse_dataset_out *x = &a->d, *y = &b->d;
  FUZZ_CHECK(x->rows == y->rows && x->features == y->features && x->outputs == y->outputs &&
                 x->task == y->task && x->n_classes == y->n_classes &&
                 (x->table == NULL) == (y->table == NULL),
             "shapes differ");
  for (int k = 0; k < x->n_classes; k++)
    FUZZ_CHECK(strcmp(x->classes[k], y->classes[k]) == 0, "class %d differs", k);
  if (x->table != NULL) {
    for (int c = 0; c < nn_table_columns(x->table); c++) {
      const nn_table_column *p = nn_table_column_at(x->table, c), *q = nn_table_column_at(y->table, c);
      FUZZ_CHECK(p->type == q->type && p->missing == q->missing &&
                     memcmp(p->is_missing, q->is_missing, x->rows) == 0,
                 "column %d differs", c);
    }
    return;
  }
  size_t nx = x->rows * (size_t)x->features;
  FUZZ_CHECK(memcmp(x->x, y->x, nx * sizeof *x->x) == 0, "x differs");
  if (x->y != NULL)
    FUZZ_CHECK(memcmp(x->y, y->y, x->rows * (size_t)x->outputs * sizeof *x->y) == 0,
               "y differs");
  if (x->labels != NULL)
    FUZZ_CHECK(memcmp(x->labels, y->labels, x->rows * sizeof *x->labels) == 0,
               "labels differ");
  for (int k = 0; k < x->n_classes; k++)
    FUZZ_CHECK(strcmp(x->classes[k], y->classes[k]) == 0, "class %d differs", k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  size_t chunk = (size_t)(data[0] % 64) + 1;
  const char *rest = (const char *)data + 1;
  const char *nl = memchr(rest, '\n', size - 1);
  if (nl == NULL) return 0;
  size_t target_len = (size_t)(nl - rest);
  char *target = malloc(target_len + 1);
  FUZZ_CHECK(target != NULL, "out of memory");
  memcpy(target, rest, target_len);
  target[target_len] = '\0';
  /* a NUL would cut the query value short: the router refuses such queries */
  if (strlen(target) == target_len) {
    const char *body = nl + 1;
    size_t len = size - 1 - target_len - 1;
    outcome chunked, whole;
    parse(target, body, len, chunk, &chunked);
    parse(target, body, len, len > 0 ? len : 1, &whole);
    check_same(&chunked, &whole);
    if (chunked.rc == 0) check_data(&chunked.d, count_targets(target));
    parse_dataset_out_free(&chunked.d);
    parse_dataset_out_free(&whole.d);
  }
  free(target);
  return 0;
}
