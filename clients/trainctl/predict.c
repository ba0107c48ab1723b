/* predict.c — trainctl predict MODEL --input '[[...]]' | --csv FILE [--id COLUMN] [--version N]
 * (and --dataset D -o FILE, a batch prediction: batch.c). */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tc.h"

static const char help[] =
    "usage: trainctl predict MODEL --input '[[x1,x2,...],...]' [--version N]\n"
    "       trainctl predict MODEL --csv FILE [--id COLUMN] [--version N]\n"
    "       trainctl predict MODEL --dataset D -o FILE [--format csv|jsonl] [--version N]\n"
    "\n"
    "Prints each row's outputs from the model's newest weights (or version N of\n"
    "those `trainctl models versions MODEL` lists) and, for a classification\n"
    "model, the predicted label: a table for --input, CSV for --csv.\n"
    "\n"
    "--csv reads RFC 4180 CSV (quoted cells, \"\" for a quote, line breaks inside\n"
    "quotes, CRLF, a UTF-8 byte order mark; cells separated by , ; tab or |). A\n"
    "first row with a cell that is no number is a header. Rows of numbers go as\n"
    "inputs; for a model trained on a table, rows with text or blank cells go as\n"
    "raw records named by the header, a blank cell missing. It prints a header\n"
    "and a line a row: the id column (--id COLUMN, else a header column named\n"
    "id, left out of numeric inputs) or the row's number, output_0, output_1,\n"
    "..., and label.\n"
    "\n"
    "--dataset runs a batch prediction over every row of stored dataset D on the\n"
    "server (POST /v1/predictions), with a progress bar on a terminal, and writes\n"
    "its output to FILE (-o, --output; - for stdout): a header, then the row's\n"
    "number, output_0, ..., and label (csv), or one JSON object a row (jsonl).\n";

/* A cell that is a decimal number, into *v. */
static int is_number(const char *cell, double *v) {
  char *end;
  errno = 0;
  *v = strtod(cell, &end);
  while (*end == ' ' || *end == '\t') end++;
  return end != cell && *end == '\0' && errno == 0 && isfinite(*v);
}

/* Whether every cell of row r is a number (id left aside). */
static int numeric_row(const tc_csv *csv, size_t r, long id) {
  double v;
  for (size_t c = 0; c < csv->cols; c++)
    if ((long)c != id && !is_number(csv->cells[r * csv->cols + c], &v)) return 0;
  return 1;
}

/* Rows first.. as a JSON array of arrays of numbers, the id column left out. */
static cJSON *inputs_of(const tc_csv *csv, size_t first, long id) {
  cJSON *rows = cJSON_CreateArray();
  for (size_t r = first; rows != NULL && r < csv->rows; r++) {
    cJSON *row = cJSON_CreateArray();
    if (!cJSON_AddItemToArray(rows, row)) {
      cJSON_Delete(row);
      goto oom;
    }
    for (size_t c = 0; c < csv->cols; c++) {
      double v;
      if ((long)c == id) continue;
      int ok = is_number(csv->cells[r * csv->cols + c], &v);
      assert(ok); /* numeric_row said so */
      (void)ok;
      if (!cJSON_AddItemToArray(row, cJSON_CreateNumber(v))) goto oom;
    }
  }
  return rows;

oom:
  cJSON_Delete(rows);
  return NULL;
}

/* Rows first.. as records named by row 0: each cell a string, the server
 * reading it as its column's type; a blank cell null (missing). */
static cJSON *records_of(const tc_csv *csv, size_t first) {
  cJSON *rows = cJSON_CreateArray();
  for (size_t r = first; rows != NULL && r < csv->rows; r++) {
    cJSON *rec = cJSON_CreateObject();
    if (!cJSON_AddItemToArray(rows, rec)) {
      cJSON_Delete(rec);
      goto oom;
    }
    for (size_t c = 0; c < csv->cols; c++) {
      const char *cell = csv->cells[r * csv->cols + c];
      cJSON *v = *cell == '\0' ? cJSON_CreateNull() : cJSON_CreateString(cell);
      if (!cJSON_AddItemToObject(rec, csv->cells[c], v)) {
        cJSON_Delete(v);
        goto oom;
      }
    }
  }
  return rows;

oom:
  cJSON_Delete(rows);
  return NULL;
}

/* The column of row 0 named name (case-insensitively when loose), or -1. */
static long column_named(const tc_csv *csv, const char *name, int loose) {
  for (size_t c = 0; c < csv->cols; c++)
    if ((loose ? strcasecmp : strcmp)(csv->cells[c], name) == 0) return (long)c;
  return -1;
}

/* The body's rows from the CSV file path: "inputs" (rows of numbers) or
 * "records" into *rows; *first the first data row, *id the id column or -1.
 * Prints why and returns TC_FAIL or TC_USAGE when it cannot. */
static int read_csv(const char *path, const char *id_name, tc_csv *csv, size_t *first,
                    long *id, cJSON **rows, const char **key) {
  if (tc_csv_read(path, csv) != TC_OK) return TC_FAIL;
  *first = csv->rows > 0 && !numeric_row(csv, 0, -1); /* a header */
  *id = *first ? column_named(csv, id_name != NULL ? id_name : "id", id_name == NULL) : -1;
  if (id_name != NULL && *id < 0)
    return tc_usage_error("predict ", "%s has no header column %s", path, id_name);
  if (csv->rows == *first) {
    fprintf(stderr, "trainctl: %s holds no rows to predict\n", path);
    return TC_FAIL;
  }
  size_t r = *first;
  while (r < csv->rows && numeric_row(csv, r, *id)) r++;
  if (r < csv->rows && !*first) {
    fprintf(stderr, "trainctl: %s line %zu: every cell must be a number, or a header row "
            "must name the columns\n", path, csv->lines[r]);
    return TC_FAIL;
  }
  *key = r < csv->rows ? "records" : "inputs"; /* text or blank cells: a table's records */
  *rows = r < csv->rows ? records_of(csv, *first) : inputs_of(csv, *first, *id);
  if (*rows == NULL) {
    fprintf(stderr, "trainctl: out of memory reading %s\n", path);
    return TC_FAIL;
  }
  return TC_OK;
}

/* The CSV answer: "ID,output_0,...[,label]" and a line a data row, the id
 * column's cell or the row's number (from 1, as the server counts records). */
static void print_csv(const tc_csv *csv, size_t first, long id, const cJSON *outputs,
                      const cJSON *labels) {
  int width = cJSON_GetArraySize(cJSON_GetArrayItem(outputs, 0));
  tc_csv_put(stdout, id >= 0 ? csv->cells[id] : "row");
  for (int k = 0; k < width; k++) printf(",output_%d", k);
  fputs(labels != NULL ? ",label\n" : "\n", stdout);
  int r = 0;
  const cJSON *row;
  cJSON_ArrayForEach(row, outputs) {
    if (id >= 0 && first + (size_t)r < csv->rows)
      tc_csv_put(stdout, csv->cells[(first + (size_t)r) * csv->cols + (size_t)id]);
    else
      printf("%d", r + 1);
    const cJSON *v;
    cJSON_ArrayForEach(v, row) printf(",%.9g", v->valuedouble);
    if (labels != NULL) {
      const cJSON *label = cJSON_GetArrayItem(labels, r);
      putchar(',');
      if (cJSON_IsString(label)) tc_csv_put(stdout, label->valuestring);
    }
    putchar('\n');
    r++;
  }
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
  const char *model = NULL, *input = NULL, *csv_path = NULL, *version_text = NULL,
             *id_name = NULL, *dataset = NULL, *out = NULL, *format = NULL;
  const tc_option opts[] = {{"--input", &input, NULL},
                            {"--dataset", &dataset, NULL},
                            {"-o", &out, NULL},
                            {"--output", &out, NULL},
                            {"--format", &format, NULL},
                            {"--csv", &csv_path, NULL},
                            {"--id", &id_name, NULL},
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
  if ((input != NULL) + (csv_path != NULL) + (dataset != NULL) != 1)
    return tc_usage_error("predict ", "predict needs exactly one of --input, --csv and --dataset");
  if ((out != NULL || format != NULL) && dataset == NULL)
    return tc_usage_error("predict ", "-o and --format go with --dataset");
  if (dataset != NULL && out == NULL)
    return tc_usage_error("predict ", "--dataset needs -o FILE (- for stdout)");
  if (dataset != NULL)
    return tc_batch_predict(ctx, id, version, dataset, strcmp(out, "-") == 0 ? "/dev/stdout" : out,
                            format != NULL ? format : "csv");
  if (id_name != NULL && csv_path == NULL)
    return tc_usage_error("predict ", "--id names a column of the --csv file");

  cJSON *inputs = NULL, *body = NULL;
  char *text = NULL;
  const char *key = "inputs";
  tc_csv csv = {0};
  size_t first = 0;
  long id_col = -1;
  tc_reply reply = {0};
  if (input != NULL) {
    inputs = cJSON_ParseWithOpts(input, NULL, 1);
    if (!cJSON_IsArray(inputs)) {
      cJSON_Delete(inputs);
      return tc_usage_error("predict ", "--input must be a JSON array of rows, like [[0,1]]");
    }
  } else if ((rc = read_csv(csv_path, id_name, &csv, &first, &id_col, &inputs, &key)) !=
             TC_OK) {
    goto exit;
  }
  body = cJSON_CreateObject();
  if (body == NULL || !cJSON_AddItemToObject(body, key, inputs)) {
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
  const cJSON *outputs = cJSON_GetObjectItemCaseSensitive(reply.json, "outputs"),
              *labels = cJSON_GetObjectItemCaseSensitive(reply.json, "labels");
  if (ctx->json)
    tc_print_raw(&reply);
  else if (csv_path != NULL)
    print_csv(&csv, first, id_col, outputs, labels);
  else
    print_outputs(outputs, labels);

exit:
  tc_reply_free(&reply);
  tc_csv_free(&csv);
  free(text);
  cJSON_Delete(body);
  return rc;
}
