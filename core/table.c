/*
 * table.c — a finished typed table: its columns as read-only views, the
 * lookups by column name and category text (keyed hashes, as built), and
 * its release. Building is in table_build.c and table_infer.c.
 */
#include <stdlib.h>

#include "table_internal.h"

size_t nn_table_rows(const nn_table *t) { return t->rows; }

int nn_table_columns(const nn_table *t) { return t->n_cols; }

const nn_table_column *nn_table_column_at(const nn_table *t, int i) {
  return i >= 0 && i < t->n_cols ? &t->cols[i] : NULL;
}

int nn_table_find(const nn_table *t, const char *name, size_t len) {
  return nn__dict_find(&t->names, name, len);
}

int32_t nn_table_category_code(const nn_table *t, int column, const char *s, size_t len) {
  if (column < 0 || column >= t->n_cols || t->cols[column].type != NN_COL_CATEGORY) return -1;
  return nn__dict_find(&t->own[column].dict, s, len);
}

int nn_table_na_values(const nn_table *t, const char *const **values) {
  *values = (const char *const *)t->na;
  return t->n_na;
}

size_t nn_table_bytes(const nn_table *t) { return t->bytes; }

void nn_table_free(nn_table *t) {
  if (t == NULL) return;
  for (int i = 0; t->own != NULL && i < t->n_cols; i++) {
    free(t->own[i].name);
    free(t->own[i].mask);
    free(t->own[i].values);
    free(t->own[i].codes);
    nn__dict_free(&t->own[i].dict);
  }
  for (int i = 0; t->na != NULL && i < t->n_na; i++) free(t->na[i]);
  free(t->na);
  free(t->own);
  free(t->cols);
  nn__dict_free(&t->names);
  free(t);
}
