/* predict.c — trainctl predict MODEL --input '[[...]]' | --csv FILE [--version N]. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tc.h"

static const char help[] =
    "usage: trainctl predict MODEL --input '[[x1,x2,...],...]' [--version N]\n"
    "       trainctl predict MODEL --csv FILE [--version N]\n"
    "\n"
    "Prints each row's outputs from the model's newest weights (or version N of\n"
    "those `trainctl models versions MODEL` lists) and, for a\n"
    "classification model, the predicted label. The CSV holds one row of numeric\n"
    "inputs a line; a first line with a non-numeric cell is taken as a header.\n"
    "For a model trained on a table, rows with text or blank cells go as raw\n"
    "records named by the header (blank cells missing; no quoted cells).\n";

/* One CSV line as a JSON array of numbers, or NULL if a cell is not a number. */
static cJSON *csv_row(char *line) {
  cJSON *row = cJSON_CreateArray();
  char *save = NULL;
  for (char *cell = strtok_r(line, ",", &save); row != NULL && cell != NULL;
       cell = strtok_r(NULL, ",", &save)) {
    char *end;
    errno = 0;
    double v = strtod(cell, &end);
    while (*end == ' ' || *end == '\t') end++;
    if (end == cell || *end != '\0' || errno != 0 || !isfinite(v) ||
        !cJSON_AddItemToArray(row, cJSON_CreateNumber(v))) {
      cJSON_Delete(row);
      return NULL;
    }
  }
  return row;
}

/* One CSV line as a record named by header's cells: text values, an empty
 * cell null (missing); the server reads each as its column's type. */
static cJSON *csv_record(const cJSON *header, char *line) {
  cJSON *rec = cJSON_CreateObject();
  const cJSON *name = header != NULL ? header->child : NULL;
  for (char *cell = line, *next; rec != NULL && name != NULL; cell = next, name = name->next) {
    next = strchr(cell, ',');
    if (next != NULL) *next++ = '\0';
    cJSON *v = *cell == '\0' ? cJSON_CreateNull() : cJSON_CreateString(cell);
    if (v == NULL || !cJSON_AddItemToObject(rec, name->valuestring, v)) {
      cJSON_Delete(v);
      cJSON_Delete(rec);
      return NULL;
    }
    if (next == NULL) break;
  }
  return rec;
}

/* The header's cells as a JSON array of strings. */
static cJSON *csv_header(char *line) {
  cJSON *names = cJSON_CreateArray();
  for (char *cell = line, *next; names != NULL && cell != NULL; cell = next) {
    next = strchr(cell, ',');
    if (next != NULL) *next++ = '\0';
    if (!cJSON_AddItemToArray(names, cJSON_CreateString(cell))) {
      cJSON_Delete(names);
      return NULL;
    }
  }
  return names;
}

/* The data lines of a CSV file as raw records named by its header. */
static cJSON *read_records(FILE *f, const char *path, const cJSON *header) {
  cJSON *rows = cJSON_CreateArray();
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  rewind(f);
  int first = 1;
  while (rows != NULL && (len = getline(&line, &cap, f)) >= 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (len == 0 || (first && (first = 0, 1))) continue; /* blank, or the header */
    cJSON *rec = csv_record(header, line);
    if (rec == NULL || !cJSON_AddItemToArray(rows, rec)) {
      cJSON_Delete(rec);
      fprintf(stderr, "trainctl: %s: out of memory\n", path);
      cJSON_Delete(rows);
      rows = NULL;
    }
  }
  free(line);
  return rows;
}

/* The rows of a CSV file as a JSON array of arrays, or (*records set) of
 * raw records when a data row holds other than numbers and a header names
 * the columns. */
static cJSON *read_csv(const char *path, int *records) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "trainctl: cannot open %s: %s\n", path, strerror(errno));
    return NULL;
  }
  cJSON *rows = cJSON_CreateArray(), *header = NULL;
  char *line = NULL;
  size_t cap = 0;
  long number = 0;
  ssize_t len;
  *records = 0;
  while (rows != NULL && (len = getline(&line, &cap, f)) >= 0) {
    number++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    if (len == 0) continue;
    char *copy = header == NULL && number == 1 ? strdup(line) : NULL;
    cJSON *row = csv_row(line);
    if (row == NULL && number == 1) { /* the header */
      header = copy != NULL ? csv_header(copy) : NULL;
      free(copy);
      continue;
    }
    free(copy);
    if (row == NULL && header != NULL) { /* text or blank cells: a table's records */
      cJSON_Delete(rows);
      rows = read_records(f, path, header);
      *records = 1;
      break;
    }
    if (row == NULL || !cJSON_AddItemToArray(rows, row)) {
      fprintf(stderr, "trainctl: %s line %ld: every cell must be a number\n", path, number);
      cJSON_Delete(rows);
      rows = NULL;
    }
  }
  cJSON_Delete(header);
  free(line);
  fclose(f);
  return rows;
}

/* "ROW  OUTPUTS  [LABEL]" lines, outputs aligned. */
static void print_outputs(const cJSON *outputs, const cJSON *labels) {
  int n = cJSON_GetArraySize(outputs), width = 7;
  char(*text)[512] = calloc((size_t)n + 1, sizeof *text);
  if (text == NULL) return;
  for (int r = 0; r < n; r++) {
    size_t used = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetArrayItem(outputs, r)) {
      if (used + 1 >= sizeof text[r]) break;
      int k = snprintf(text[r] + used, sizeof text[r] - used, "%s%.6g", used ? " " : "",
                       v->valuedouble);
      used += k > 0 ? (size_t)k : 0;
    }
    if ((int)strlen(text[r]) > width) width = (int)strlen(text[r]);
  }
  printf(labels ? "ROW  %-*s  LABEL\n" : "ROW  %-*s\n", labels ? width : 0, "OUTPUTS");
  for (int r = 0; r < n; r++) {
    const cJSON *label = cJSON_GetArrayItem(labels, r);
    if (labels != NULL)
      printf("%-3d  %-*s  %s\n", r, width, text[r],
             cJSON_IsString(label) ? label->valuestring : "-");
    else
      printf("%-3d  %s\n", r, text[r]);
  }
  free(text);
}

int tc_cmd_predict(tc_ctx *ctx, int argc, char **argv) {
  const char *model = NULL, *input = NULL, *csv = NULL, *version_text = NULL;
  const tc_option opts[] = {{"--input", &input, NULL},
                            {"--csv", &csv, NULL},
                            {"--version", &version_text, NULL},
                            {NULL, NULL, NULL}};
  int n_pos, rc = tc_parse(argc, argv, opts, &model, 1, &n_pos, "predict");
  if (rc == TC_HELP) return fputs(help, stdout), TC_OK;
  if (rc != TC_OK) return rc;
  if (n_pos == 0) return tc_usage_error("predict ", "predict needs a model ID");
  long long id, version = 0;
  if ((rc = tc_parse_count("predict ", "the model ID", model, &id)) != TC_OK ||
      (version_text != NULL &&
       (rc = tc_parse_count("predict ", "--version", version_text, &version)) != TC_OK))
    return rc;
  if ((input == NULL) == (csv == NULL))
    return tc_usage_error("predict ", "predict needs exactly one of --input and --csv");

  cJSON *inputs = NULL, *body = NULL;
  char *text = NULL;
  int records = 0;
  tc_reply reply = {0};
  if (input != NULL) {
    inputs = cJSON_ParseWithOpts(input, NULL, 1);
    if (!cJSON_IsArray(inputs)) {
      cJSON_Delete(inputs);
      return tc_usage_error("predict ", "--input must be a JSON array of rows, like [[0,1]]");
    }
  } else if ((inputs = read_csv(csv, &records)) == NULL) {
    return TC_FAIL;
  }
  body = cJSON_CreateObject();
  if (body == NULL || !cJSON_AddItemToObject(body, records ? "records" : "inputs", inputs)) {
    cJSON_Delete(inputs);
    rc = TC_FAIL;
    goto exit;
  }
  if ((text = cJSON_PrintUnformatted(body)) == NULL) {
    rc = TC_FAIL;
    goto exit;
  }
  char path[96];
  if (version != 0)
    snprintf(path, sizeof path, "/v1/models/%lld/predict?version=%lld", id, version);
  else
    snprintf(path, sizeof path, "/v1/models/%lld/predict", id);
  if ((rc = tc_request(ctx, "POST", path, text, &reply)) != TC_OK) goto exit;
  if (ctx->json)
    tc_print_raw(&reply);
  else
    print_outputs(cJSON_GetObjectItemCaseSensitive(reply.json, "outputs"),
                  cJSON_GetObjectItemCaseSensitive(reply.json, "labels"));

exit:
  tc_reply_free(&reply);
  free(text);
  cJSON_Delete(body);
  return rc;
}
