/* table_util.c — see table_util.h. */
#include "table_util.h"

#include <criterion/criterion.h>
#include <string.h>

int table_from_text(const char *text, const nn_table_options *o, const nn_col_type *types,
                    nn_table **out, nn_table_report *report, nn_error *err) {
  nn_table_options d;
  nn_table_builder *b = NULL;
  int rc, col = 0, header = 1;
  if (o == NULL) {
    nn_table_options_defaults(&d);
    o = &d;
  }
  *out = NULL;
  if ((rc = nn_table_builder_new(o, &b, err)) != NN_OK) return rc;
  const char *p = text;
  for (;;) {
    size_t len = strcspn(p, ",\n");
    if (header)
      rc = nn_table_builder_column(b, p, len, types ? types[col] : NN_COL_AUTO, err);
    else
      rc = nn_table_builder_cell(b, p, len, err);
    if (rc != NN_OK) goto exit;
    col++;
    p += len;
    if (*p == ',') {
      p++;
      continue;
    }
    if (!header && (rc = nn_table_builder_end_row(b, err)) != NN_OK) goto exit;
    header = 0;
    col = 0;
    if (*p == '\0' || p[1] == '\0') break;
    p++;
  }
  rc = nn_table_builder_finish(b, out, report, err);
exit:
  nn_table_builder_free(b);
  return rc;
}

nn_table *table_ok(const char *text) {
  nn_table *t = NULL;
  nn_error err = {{0}, {0}};
  int rc = table_from_text(text, NULL, NULL, &t, NULL, &err);
  cr_assert_eq(rc, NN_OK, "table: %s", err.message);
  return t;
}

const char *table_category(const nn_table_column *c, int32_t k) {
  cr_assert(k >= 0 && k < c->n_categories, "code %d of %d", k, c->n_categories);
  return c->text + c->offsets[k];
}
