/*
 * fuzz_dataset_json.c — JSON data sets, the body of POST /v1/datasets
 * (parse_dataset_json).
 *
 * A refused body is a 400 with a message. A data set that parses has one row
 * per element of "inputs", holding exactly those numbers as floats (all
 * finite); regression targets are finite; class labels index a sorted list of
 * distinct, non-empty class names.
 */
#include <math.h>

#include "../../server/parse_dataset.h"
#include "fuzz.h"

/* x (or y) holds the JSON matrix at key, element by element. */
static void check_matrix(const cJSON *root, const char *key, const float *a, size_t rows,
                         int cols) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, key);
  FUZZ_CHECK(cJSON_GetArraySize(m) >= 0 && (size_t)cJSON_GetArraySize(m) == rows,
             "%s: %d rows in JSON, %zu parsed", key, cJSON_GetArraySize(m), rows);
  size_t i = 0;
  for (const cJSON *r = m->child; r != NULL; r = r->next, i++) {
    FUZZ_CHECK(cJSON_GetArraySize(r) == cols, "%s[%zu] has %d numbers, not %d", key, i,
               cJSON_GetArraySize(r), cols);
    int j = 0;
    for (const cJSON *c = r->child; c != NULL; c = c->next, j++) {
      float v = a[i * (size_t)cols + (size_t)j];
      FUZZ_CHECK(isfinite(v) && fuzz_same_float(v, (float)c->valuedouble),
                 "%s[%zu][%d] is %g, parsed as %g", key, i, j, c->valuedouble, (double)v);
    }
  }
}

static void check_classes(const cJSON *root, const parse_dataset_out *d) {
  FUZZ_CHECK(d->n_classes >= 1 && d->n_classes <= PARSE_MAX_CLASSES &&
                 d->outputs == d->n_classes && d->classes != NULL,
             "%d classes, %d outputs", d->n_classes, d->outputs);
  for (int k = 0; k < d->n_classes; k++) {
    size_t len = strlen(d->classes[k]);
    FUZZ_CHECK(len >= 1 && len <= PARSE_CLASS_NAME_MAX, "class %d has %zu bytes", k, len);
  }
  const cJSON *labels = cJSON_GetObjectItemCaseSensitive(root, "labels");
  int strings = cJSON_IsString(labels->child);
  /* String classes sort by name; number classes are "0".."max", every one
   * named whether or not it appears. */
  for (int k = 1; k < d->n_classes; k++)
    FUZZ_CHECK(strings ? strcmp(d->classes[k - 1], d->classes[k]) < 0
                       : atoi(d->classes[k]) == k,
               "classes %d and %d are out of order", k - 1, k);
  size_t i = 0;
  for (const cJSON *c = labels->child; c != NULL; c = c->next, i++) {
    int32_t l = d->labels[i];
    FUZZ_CHECK(l >= 0 && l < d->n_classes, "label %zu is %d of %d classes", i, (int)l,
               d->n_classes);
    FUZZ_CHECK(strings ? strcmp(c->valuestring, d->classes[l]) == 0 : c->valuedouble == l,
               "label %zu names the wrong class %s", i, d->classes[l]);
  }
  FUZZ_CHECK(i == d->rows, "%zu labels for %zu rows", i, d->rows);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cJSON *root = fuzz_parse_body(data, size);
  if (root == NULL) return 0;
  api_error err = {0};
  int rc;
  parse_dataset_out d;
  char name[PARSE_NAME_MAX + 1];
  rc = parse_dataset_json(root, name, &d, &err);
  if (rc != 0) {
    fuzz_check_refusal(rc, &err, API_INVALID_ARGUMENT);
    FUZZ_CHECK(d.x == NULL && d.y == NULL && d.labels == NULL, "a refusal keeps data");
    cJSON_Delete(root);
    return 0;
  }
  FUZZ_CHECK(parse_check_name(name, "name", &err) == 0, "name %s", name);
  FUZZ_CHECK(d.rows >= 1 && d.features >= 1 && d.features <= NN_MAX_UNITS, "%zu x %d", d.rows,
             d.features);
  check_matrix(root, "inputs", d.x, d.rows, d.features);
  if (d.task == PARSE_TASK_REGRESSION) {
    FUZZ_CHECK(d.y != NULL && d.labels == NULL && d.n_classes == 0, "regression with labels");
    FUZZ_CHECK(d.outputs >= 1 && d.outputs <= NN_MAX_UNITS, "%d outputs", d.outputs);
    check_matrix(root, "targets", d.y, d.rows, d.outputs);
  } else {
    FUZZ_CHECK(d.task == PARSE_TASK_CLASSIFICATION, "task %d", (int)d.task);
    FUZZ_CHECK(d.y == NULL && d.labels != NULL, "classification without labels");
    check_classes(root, &d);
  }
  parse_dataset_out_free(&d);
  cJSON_Delete(root);
  return 0;
}
