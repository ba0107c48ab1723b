/*
 * table_infer.c — the end of a build: each column's type resolved from the
 * counts of what its cells were read as (the rules are in table.h), and the
 * column converted in place into the table's storage.
 *
 * A column of numbers, booleans or date-times keeps the builder's doubles
 * (shrunk to the rows) and turns its kind bytes into the missing mask; a
 * category column gets an int32 code per row, allocated here while the
 * doubles are still held: 13 bytes a cell for that one column at a time,
 * so the finish never holds much more than the table it hands over.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table_build.h"

#define TWO_53 9007199254740992.0

/* Would the cell at row fit type t? */
static int fits(const nn__bcol *c, size_t row, nn_col_type t) {
  int k = c->kind[row];
  double v = c->v[row];
  if (k == K_MISSING || t == NN_COL_CATEGORY) return 1;
  switch (t) {
  case NN_COL_NUMBER: return k == K_NUMBER;
  case NN_COL_INTEGER: return k == K_NUMBER && v == trunc(v) && fabs(v) <= TWO_53;
  case NN_COL_DATETIME: return k == K_DATE || k == K_DATETIME;
  case NN_COL_BOOLEAN: {
    size_t len;
    if (k == K_NUMBER) return v == 0 || v == 1;
    if (k != K_TEXT) return 0;
    const char *s = nn__dict_entry(&c->dict, (int32_t)v, &len);
    return nn_parse_boolean(s, len) >= 0;
  }
  default: return 0;
  }
}

/* The cell's text: its own, or the canonical one of a number or a date. */
static const char *cell_text(const nn__bcol *c, const uint8_t *kind, size_t row, char *buf,
                             size_t *len) {
  switch (kind[row]) {
  case K_TEXT: return nn__dict_entry(&c->dict, (int32_t)c->v[row], len);
  case K_NUMBER: *len = (size_t)nn__format_number(c->v[row], buf); return buf;
  case K_DATE:
  case K_DATETIME:
    *len = (size_t)nn__format_datetime(c->v[row], kind[row] == K_DATETIME, buf);
    return buf;
  default: *len = 0; return "";
  }
}

/* The type of a column without override, or -1 - type when a few cells keep
 * it from being type (numbers or datetimes): those are reported. */
static int infer(const nn__bcol *c) {
  size_t num = c->n_kind[K_NUMBER], date = c->n_kind[K_DATE] + c->n_kind[K_DATETIME];
  size_t text = c->n_kind[K_TEXT], present = num + date + text;
  if (present == 0) return NN_COL_NUMBER;
  if (num == present) return c->non_integral ? NN_COL_NUMBER : NN_COL_INTEGER;
  if (date == present) return NN_COL_DATETIME;
  if (text == present) {
    for (int32_t k = 0; k < c->dict.n; k++) {
      size_t len;
      const char *s = nn__dict_entry(&c->dict, k, &len);
      if (nn_parse_boolean(s, len) < 0) return NN_COL_CATEGORY;
    }
    return NN_COL_BOOLEAN;
  }
  /* present - num <= 5% of present, in integers */
  if ((present - num) * 20 <= present)
    return -1 - (c->non_integral ? NN_COL_NUMBER : NN_COL_INTEGER);
  if ((present - date) * 20 <= present) return -1 - NN_COL_DATETIME;
  return NN_COL_CATEGORY;
}

/* List the cells of c that do not fit t and fail. */
static int report_misfits(const nn__bcol *c, int column, size_t rows, nn_col_type t,
                          nn_table_report *report, nn_error *err) {
  nn_table_report r;
  char buf[48], first[3][64];
  int shown = 0;
  memset(&r, 0, sizeof r);
  r.column = column;
  r.type = t;
  for (size_t row = 0; row < rows; row++) {
    if (c->kind[row] == K_MISSING) continue;
    if (fits(c, row, t)) {
      r.valid++;
      continue;
    }
    if (r.n_cells < NN_TABLE_REPORT_CELLS) {
      size_t len;
      const char *s = cell_text(c, c->kind, row, buf, &len);
      if (len > NN_TABLE_REPORT_TEXT) len = NN_TABLE_REPORT_TEXT;
      r.cells[r.n_cells].row = row;
      memcpy(r.cells[r.n_cells].text, s, len);
      r.cells[r.n_cells].text[len] = '\0';
      if (shown < 3)
        snprintf(first[shown++], sizeof first[0], "row %zu \"%.24s\"", row + 1,
                 r.cells[r.n_cells].text);
      r.n_cells++;
    }
    r.offending++;
  }
  assert(r.offending > 0);
  if (report != NULL) *report = r;
  return nn__fail(err, NN_EINVAL, c->name,
                  "column %.40s: %zu of %zu cells are not %s: %s%s%s%s%s%s", c->name, r.offending,
                  r.offending + r.valid, t == NN_COL_DATETIME ? "dates" : t == NN_COL_BOOLEAN
                  ? "true/false" : t == NN_COL_INTEGER ? "whole numbers" : "numbers",
                  first[0], shown > 1 ? ", " : "", shown > 1 ? first[1] : "",
                  shown > 2 ? ", " : "", shown > 2 ? first[2] : "",
                  r.offending > (size_t)shown ? "..." : "");
}

/* Shrink a column array to rows (realloc cannot fail to shrink in effect;
 * keep the old block when it does). */
static void *shrink(void *p, size_t bytes) {
  void *q = realloc(p, bytes ? bytes : 1);
  return q ? q : p;
}

/* Turn the builder's column into the table's, of type t. */
static int convert(nn__bcol *c, size_t rows, nn_col_type t, struct nn__tcol *own,
                   nn_table_column *view) {
  own->mask = c->kind;
  c->kind = NULL;
  view->type = t;
  if (t == NN_COL_CATEGORY) {
    int32_t *codes = malloc((rows ? rows : 1) * sizeof *codes);
    char buf[48];
    if (codes == NULL) return NN_ENOMEM;
    for (size_t r = 0; r < rows; r++) {
      int k = own->mask[r];
      if (k == K_TEXT) {
        codes[r] = (int32_t)c->v[r];
      } else if (k == K_MISSING) {
        codes[r] = -1;
      } else {
        size_t len;
        const char *s = cell_text(c, own->mask, r, buf, &len);
        int rc = nn__dict_add(&c->dict, s, len, SIZE_MAX, &codes[r]);
        if (rc != NN_OK) {
          free(codes);
          c->kind = own->mask; /* hand the kinds back: the builder frees them */
          own->mask = NULL;
          return rc;
        }
      }
    }
    own->codes = codes;
    own->dict = c->dict;
    nn__dict_init(&c->dict, c->dict.key);
    free(c->v);
    c->v = NULL;
  } else {
    for (size_t r = 0; r < rows; r++) {
      if (own->mask[r] == K_MISSING) continue;
      if (t == NN_COL_BOOLEAN && own->mask[r] == K_TEXT) {
        size_t len;
        const char *s = nn__dict_entry(&c->dict, (int32_t)c->v[r], &len);
        c->v[r] = nn_parse_boolean(s, len);
      }
    }
    own->values = shrink(c->v, rows * sizeof(double));
    c->v = NULL;
    nn__dict_free(&c->dict);
  }
  size_t missing = 0;
  for (size_t r = 0; r < rows; r++) {
    uint8_t m = own->mask[r] == K_MISSING;
    own->mask[r] = m;
    missing += m;
  }
  own->mask = shrink(own->mask, rows);
  view->missing = missing;
  return NN_OK;
}

/* Point the public view at the storage. */
static void fill_view(struct nn__tcol *own, nn_table_column *view, size_t name_len) {
  view->name = own->name;
  view->name_len = name_len;
  view->is_missing = own->mask;
  view->values = own->values;
  view->codes = own->codes;
  if (own->codes != NULL) {
    view->n_categories = own->dict.n;
    view->text = own->dict.text ? own->dict.text : "";
    view->offsets = own->dict.off;
    view->counts = own->dict.count;
  }
}

int nn_table_builder_finish(nn_table_builder *b, nn_table **out, nn_table_report *report,
                            nn_error *err) {
  nn_table *t = NULL;
  size_t rows = b->rows;
  int rc = NN_OK;
  *out = NULL;
  if (report != NULL) {
    memset(report, 0, sizeof *report);
    report->column = -1;
  }
  if (b->n_cols == 0) return nn__fail(err, NN_EINVAL, "", "the table has no columns");
  /* a started row (a last CSV line without its newline) is ended here: its
   * cells are already counted in the kinds and dictionaries */
  for (int i = 0; i < b->n_cols; i++)
    if (b->cols[i].n > b->rows) {
      if ((rc = nn_table_builder_end_row(b, err)) != NN_OK) return rc;
      break;
    }
  rows = b->rows;
  if ((t = calloc(1, sizeof *t)) == NULL ||
      (t->cols = calloc((size_t)b->n_cols, sizeof *t->cols)) == NULL ||
      (t->own = calloc((size_t)b->n_cols, sizeof *t->own)) == NULL ||
      (t->na = calloc((size_t)b->o.n_na + 1, sizeof *t->na)) == NULL)
    goto nomem;
  t->rows = rows;
  t->names = b->names;
  nn__dict_init(&b->names, b->o.hash_key);
  for (int i = 0; i < b->n_cols; i++) {
    nn__bcol *c = &b->cols[i];
    int type = c->forced;
    if (nn__bcol_kinds(c, rows) != NN_OK) goto nomem; /* the mask to be */
    if (type == NN_COL_AUTO) {
      type = infer(c);
      if (type < 0) {
        rc = report_misfits(c, i, rows, (nn_col_type)(-1 - type), report, err);
        goto fail;
      }
    } else {
      for (size_t r = 0; r < rows; r++)
        if (!fits(c, r, (nn_col_type)type)) {
          rc = report_misfits(c, i, rows, (nn_col_type)type, report, err);
          goto fail;
        }
    }
    t->own[i].name = c->name;
    c->name = NULL;
    t->n_cols = i + 1;
    if ((rc = convert(c, rows, (nn_col_type)type, &t->own[i], &t->cols[i])) != NN_OK) goto nomem;
    fill_view(&t->own[i], &t->cols[i], c->name_len);
    t->bytes += rows * (1 + (type == NN_COL_CATEGORY ? 4 : 8)) + nn__dict_bytes(&t->own[i].dict);
  }
  for (int i = 0; i < b->o.n_na; i++) {
    t->na[i] = b->na[i];
    b->na[i] = NULL;
  }
  t->n_na = b->o.n_na;
  *out = t;
  return NN_OK;
nomem:
  rc = nn__fail(err, NN_ENOMEM, "", "out of memory");
fail:
  nn_table_free(t);
  return rc;
}
