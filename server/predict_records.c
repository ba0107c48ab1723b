/* predict_records.c — raw records to a table model's inputs (predict_records.h). */
#include "predict_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_json.h"

int predict_records_check(const cJSON *records, size_t max, size_t *n, api_error *err) {
  size_t k = 0;
  const cJSON *r, *array = cJSON_IsArray(records) ? records : NULL;
  cJSON_ArrayForEach(r, array) {
    char field[PARSE_PATH_MAX];
    snprintf(field, sizeof field, "records[%zu]", k);
    if (!cJSON_IsObject(r))
      return api_fail(err, API_INVALID_ARGUMENT, field, "%s must be an object of column values",
                      field);
    k++;
  }
  if (k == 0 || k > max)
    return api_fail(err, API_INVALID_ARGUMENT, "records",
                    "records must be an array of 1 to %zu objects", max);
  *n = k;
  return 0;
}

/* A record's value as a raw cell; -1 for JSON that is none (object, array). */
static int cell_of(const cJSON *v, nn_cell *c) {
  memset(c, 0, sizeof *c);
  if (cJSON_IsNull(v)) {
    c->kind = NN_CELL_MISSING;
  } else if (cJSON_IsString(v)) {
    c->kind = NN_CELL_TEXT;
    c->text = v->valuestring;
    c->len = strlen(v->valuestring);
  } else if (cJSON_IsNumber(v)) {
    c->kind = NN_CELL_NUMBER;
    c->number = v->valuedouble;
  } else if (cJSON_IsBool(v)) {
    c->kind = NN_CELL_BOOLEAN;
    c->number = cJSON_IsTrue(v);
  } else {
    return -1;
  }
  return 0;
}

int predict_records_read(const cJSON *records, const nn_encoder *e, float *x, api_error *err) {
  size_t n, i = 0, bad = 0;
  int cols = nn_encoder_columns(e);
  char field[PARSE_PATH_MAX];
  nn_error ne;
  /* an encoding whose every column is skipped has none: one cell a record then */
  size_t per = cols > 0 ? (size_t)cols : 1;
  int rc = predict_records_check(records, SIZE_MAX / sizeof(nn_cell) / per, &n, err);
  if (rc != 0) return rc;
  nn_cell *cells = calloc(n * per, sizeof *cells); /* (n, cols), all missing */
  if (cells == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  const cJSON *r, *v;
  cJSON_ArrayForEach(r, records) {
    cJSON_ArrayForEach(v, r) {
      int c = nn_encoder_find(e, v->string, strlen(v->string));
      if (c < 0) continue; /* not an input: an id, the target */
      if (cell_of(v, &cells[i * (size_t)cols + (size_t)c]) != 0) {
        snprintf(field, sizeof field, "records[%zu].%.64s", i, v->string);
        rc = api_fail(err, API_INVALID_ARGUMENT, field,
                      "%s must be a string, a number, true, false or null", field);
        goto out;
      }
    }
    i++;
  }
  rc = nn_encoder_apply_records(e, cells, n, x, &bad, &ne);
  if (rc == NN_ENOMEM) {
    rc = api_fail(err, API_INTERNAL, NULL, "out of memory");
  } else if (rc != NN_OK) {
    snprintf(field, sizeof field, "records[%zu].%.64s", bad, ne.field);
    rc = api_fail(err, API_INVALID_ARGUMENT, field, "%s", ne.message);
  }
out:
  free(cells);
  return rc;
}
