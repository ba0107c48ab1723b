/*
 * fuzz_dataset_json.c — JSON data sets, the body of POST /v1/datasets
 * (parse_dataset_json_*, streamed).
 *
 * The body is fed in three pieces cut where its first two bytes say, and
 * checked against the buffered parser (parse_json_body, cJSON): a body that
 * one refuses as malformed JSON or for a duplicate name the other refuses
 * with the same message and field, and the stream accepts nothing the
 * buffered parser refuses. A refused body is a 400 with a message. A data
 * set that parses has one row
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

/* Parse the body streamed in three pieces, cut at offsets the data picks. */
static int parse_streamed(const uint8_t *data, size_t size, char name[PARSE_NAME_MAX + 1],
                          parse_dataset_out *d, api_error *err) {
  size_t cut1 = size > 0 ? data[0] % (size + 1) : 0;
  size_t cut2 = size > 1 ? cut1 + data[1] % (size - cut1 + 1) : size;
  const size_t cuts[] = {0, cut1, cut2, size};
  parse_dataset_json *p;
  int rc = parse_dataset_json_new(&p, err);
  FUZZ_CHECK(rc == 0, "cannot start a parse: %s", err->message);
  for (int i = 0; i < 3; i++) {
    size_t n = cuts[i + 1] - cuts[i];
    uint8_t *piece = malloc(n > 0 ? n : 1); /* exact size: ASan sees overreads */
    FUZZ_CHECK(piece != NULL, "out of memory");
    memcpy(piece, data + cuts[i], n);
    parse_dataset_json_feed(p, (const char *)piece, n);
    free(piece);
  }
  rc = parse_dataset_json_finish(p, name, d, err);
  parse_dataset_json_free(p);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  api_error err = {0}, want = {0};
  parse_dataset_out d;
  char name[PARSE_NAME_MAX + 1];
  int rc = parse_streamed(data, size, name, &d, &err);
  cJSON *root = NULL;
  int want_rc = parse_json_body((const char *)data, size, &root, &want);
  if (want_rc != 0 && want_rc != -API_INTERNAL) /* cJSON alone may fail on long numbers */
    FUZZ_CHECK(rc == want_rc && strcmp(err.message, want.message) == 0 &&
                   strcmp(err.field, want.field) == 0,
               "buffered: %s (%s); streamed: %s (%s)", want.message, want.field, err.message,
               err.field);
  if (rc != 0) {
    fuzz_check_refusal(rc, &err, API_INVALID_ARGUMENT);
    FUZZ_CHECK(d.x == NULL && d.y == NULL && d.labels == NULL, "a refusal keeps data");
    cJSON_Delete(root);
    return 0;
  }
  if (root == NULL) { /* a number cJSON cannot read: nothing to compare with */
    parse_dataset_out_free(&d);
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
