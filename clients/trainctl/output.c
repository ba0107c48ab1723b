/* output.c — human output: aligned tables for lists, key: value for one
 * object; --json passes the server's answer through untouched. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tc.h"

#define CELL 64 /* longer values are cut in tables */

void tc_format(const cJSON *v, char *buf, size_t size) {
  if (v == NULL || cJSON_IsNull(v)) {
    snprintf(buf, size, "-");
  } else if (cJSON_IsBool(v)) {
    snprintf(buf, size, "%s", cJSON_IsTrue(v) ? "true" : "false");
  } else if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    if (d == floor(d) && fabs(d) < 1e15)
      snprintf(buf, size, "%.0f", d);
    else
      snprintf(buf, size, "%.6g", d);
  } else if (cJSON_IsString(v)) {
    snprintf(buf, size, "%s", v->valuestring);
  } else {
    char *text = cJSON_PrintUnformatted(v);
    snprintf(buf, size, "%s", text != NULL ? text : "?");
    free(text);
  }
}

int tc_print_table(const cJSON *rows, const tc_column *cols, size_t n_cols) {
  size_t n_rows = (size_t)cJSON_GetArraySize(rows);
  size_t widths[16] = {0};
  char(*cells)[CELL] = calloc(n_rows * n_cols + 1, CELL);
  if (cells == NULL || n_cols > 16) {
    free(cells);
    fprintf(stderr, "trainctl: out of memory\n");
    return TC_FAIL;
  }
  for (size_t c = 0; c < n_cols; c++) widths[c] = strlen(cols[c].header);
  size_t r = 0;
  const cJSON *row;
  cJSON_ArrayForEach(row, rows) {
    for (size_t c = 0; c < n_cols; c++) {
      char *cell = cells[r * n_cols + c];
      tc_format(cJSON_GetObjectItemCaseSensitive(row, cols[c].key), cell, CELL);
      if (strlen(cell) > widths[c]) widths[c] = strlen(cell);
    }
    r++;
  }
  for (size_t c = 0; c < n_cols; c++)
    printf("%-*s%s", c + 1 < n_cols ? (int)widths[c] : 0, cols[c].header,
           c + 1 < n_cols ? "  " : "\n");
  for (r = 0; r < n_rows; r++)
    for (size_t c = 0; c < n_cols; c++)
      printf("%-*s%s", c + 1 < n_cols ? (int)widths[c] : 0, cells[r * n_cols + c],
             c + 1 < n_cols ? "  " : "\n");
  free(cells);
  return TC_OK;
}

void tc_print_object(const cJSON *obj) {
  int width = 0;
  const cJSON *item;
  cJSON_ArrayForEach(item, obj) {
    int len = (int)strlen(item->string);
    if (len > width) width = len;
  }
  cJSON_ArrayForEach(item, obj) {
    char value[4096];
    tc_format(item, value, sizeof value);
    printf("%s:%*s %s\n", item->string, width - (int)strlen(item->string), "", value);
  }
}

void tc_print_raw(const tc_reply *reply) {
  fwrite(reply->body != NULL ? reply->body : "", 1, reply->len, stdout);
  if (reply->len == 0 || reply->body[reply->len - 1] != '\n') putchar('\n');
}

void tc_print_show(const tc_ctx *ctx, const tc_reply *reply) {
  if (ctx->json)
    tc_print_raw(reply);
  else
    tc_print_object(reply->json);
}
