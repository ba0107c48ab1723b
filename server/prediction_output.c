/* prediction_output.c — a batch prediction's rows as csv or jsonl text
 * (prediction_output.h). */
#include "prediction_output.h"

#include <stdbool.h>
#include <stdio.h>

int prediction_output_init(prediction_output *o, prediction_format format, int outputs,
                           const char *classes) {
  o->format = format;
  o->outputs = outputs;
  o->classes = NULL;
  if (classes == NULL) return 0;
  cJSON *names = cJSON_Parse(classes);
  if (names == NULL) return -1;
  int n = cJSON_GetArraySize(names);
  if (n == outputs || (outputs == 1 && n == 2)) o->classes = names;
  else cJSON_Delete(names);
  return 0;
}

void prediction_output_clear(prediction_output *o) {
  cJSON_Delete(o->classes);
  o->classes = NULL;
}

void prediction_output_header(const prediction_output *o, json_buf *b) {
  if (o->format != PREDICTION_CSV) return;
  json_buf_lit(b, "row");
  for (int k = 0; k < o->outputs; k++) {
    char name[32];
    int n = snprintf(name, sizeof name, ",output_%d", k);
    json_buf_raw(b, name, (size_t)n);
  }
  json_buf_lit(b, o->classes != NULL ? ",label\n" : "\n");
}

/* A row's class: argmax over one unit per class, or a sigmoid unit >= 0.5. */
static const char *label(const prediction_output *o, const float *row) {
  int best = 0;
  if (o->outputs == 1) {
    best = row[0] >= 0.5f;
  } else {
    for (int k = 1; k < o->outputs; k++)
      if (row[k] > row[best]) best = k;
  }
  const char *name = cJSON_GetStringValue(cJSON_GetArrayItem(o->classes, best));
  return name != NULL ? name : "";
}

/* A name as a csv field: quoted, its quotes doubled (RFC 4180). */
static void csv_field(json_buf *b, const char *s) {
  json_buf_raw(b, "\"", 1);
  for (const char *p = s; *p != '\0'; p++) {
    json_buf_raw(b, p, 1);
    if (*p == '"') json_buf_raw(b, "\"", 1);
  }
  json_buf_raw(b, "\"", 1);
}

void prediction_output_rows(const prediction_output *o, json_buf *b, int64_t first,
                            size_t rows, const float *y) {
  bool csv = o->format == PREDICTION_CSV;
  for (size_t i = 0; i < rows; i++) {
    const float *row = y + i * (size_t)o->outputs; /* (outputs,) */
    json_buf_lit(b, csv ? "" : "{\"row\":");
    json_buf_int(b, first + (int64_t)i);
    json_buf_lit(b, csv ? "," : ",\"outputs\":[");
    for (int k = 0; k < o->outputs; k++) {
      if (k > 0) json_buf_raw(b, ",", 1);
      json_buf_float(b, row[k]);
    }
    if (!csv) json_buf_raw(b, "]", 1);
    if (o->classes != NULL) {
      json_buf_lit(b, csv ? "," : ",\"label\":");
      if (csv) csv_field(b, label(o, row));
      else json_buf_string(b, label(o, row));
    }
    json_buf_lit(b, csv ? "\n" : "}\n");
  }
}
