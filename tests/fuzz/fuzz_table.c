/*
 * fuzz_table.c — typed tables built cell by cell (nn_table_builder_*), the
 * encoding fitted on them, and serialized encodings (nn_encoder_load), as
 * the daemon takes a raw CSV or JSON upload and reads a model's encoding
 * back from its database.
 *
 * Input: a first byte choosing the mode, its value mod 3. 0: a table. The second byte
 * gives the columns (1..6) and the third an override and options; then the
 * cells, separated by 0x1f, rows ended by a newline. A table that builds
 * has a consistent missing mask, codes inside its dictionary and counts
 * that add up, whole integers and finite numbers; every column profiles;
 * the encoding fitted on its rows writes finite values (or refuses values
 * beyond float range), saves, loads and
 * saves to the same bytes, encodes the same with the loaded copy, and
 * encodes the table's rows given as raw records to the same bits; the table
 * saves, loads and saves to the same bytes. 1: the rest is a serialized
 * encoding, loaded as is and with its CRC fixed up; one that loads saves to
 * the same bytes and encodes an all-missing record to finite values or is
 * refused as beyond float range. 2: the rest is a stored table, loaded as is
 * and with its CRC fixed up; one that loads is consistent and saves to the
 * same bytes.
 */
#include <math.h>

#include "../../core/encode.h"
#include "../../core/table.h"
#include "fuzz.h"

static const uint8_t KEY[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void check_refusal(int rc, const nn_error *err) {
  FUZZ_CHECK(rc < 0, "status %d", rc);
  FUZZ_CHECK(memchr(err->message, '\0', sizeof err->message) != NULL, "message not terminated");
  FUZZ_CHECK(rc == NN_ENOMEM || err->message[0] != '\0', "no message for %d", rc);
}

static void check_table(const nn_table *t) {
  size_t rows = nn_table_rows(t);
  for (int i = 0; i < nn_table_columns(t); i++) {
    const nn_table_column *c = nn_table_column_at(t, i);
    size_t missing = 0;
    uint64_t counted = 0;
    for (size_t r = 0; r < rows; r++) {
      FUZZ_CHECK(c->is_missing[r] <= 1, "mask byte %d", c->is_missing[r]);
      missing += c->is_missing[r];
      if (c->type == NN_COL_CATEGORY) {
        FUZZ_CHECK(c->is_missing[r] ? c->codes[r] == -1
                                    : c->codes[r] >= 0 && c->codes[r] < c->n_categories,
                   "code %d of %d", c->codes[r], c->n_categories);
      } else if (!c->is_missing[r]) {
        double v = c->values[r];
        FUZZ_CHECK(isfinite(v), "column %d row %zu: %g", i, r, v);
        FUZZ_CHECK(c->type != NN_COL_INTEGER || v == trunc(v), "integer %.17g", v);
        FUZZ_CHECK(c->type != NN_COL_BOOLEAN || v == 0 || v == 1, "boolean %g", v);
      }
    }
    FUZZ_CHECK(missing == c->missing, "missing %zu, counted %zu", c->missing, missing);
    for (int32_t k = 0; c->type == NN_COL_CATEGORY && k < c->n_categories; k++) {
      counted += c->counts[k];
      FUZZ_CHECK(nn_table_category_code(t, i, c->text + c->offsets[k],
                                        c->offsets[k + 1] - c->offsets[k] - 1) == k,
                 "entry %d is not found under its text", k);
    }
    FUZZ_CHECK(c->type != NN_COL_CATEGORY || counted == rows - missing, "counts %llu of %zu",
               (unsigned long long)counted, rows - missing);
    nn_column_profile p;
    FUZZ_CHECK(nn_table_profile(t, i, &p) == NN_OK, "profile of column %d", i);
    FUZZ_CHECK(p.missing == missing && p.distinct <= rows - missing, "profile counts");
  }
}

/* Encode t's rows as records built from its own cells: the same bits. */
static void check_records(const nn_encoder *e, const nn_table *t, const float *x) {
  size_t rows = nn_table_rows(t), w = (size_t)nn_encoder_width(e);
  int n_cols = nn_encoder_columns(e);
  nn_cell *cells = calloc(rows * (size_t)n_cols + 1, sizeof *cells);
  float *xr = calloc(rows * w + 1, sizeof *xr);
  FUZZ_CHECK(cells != NULL && xr != NULL, "out of memory");
  for (int i = 0; i < n_cols; i++) {
    nn_encoder_column_info info;
    nn_encoder_column(e, i, &info);
    const nn_table_column *c = nn_table_column_at(t, nn_table_find(t, info.name, strlen(info.name)));
    for (size_t r = 0; r < rows; r++) {
      nn_cell *cell = &cells[r * (size_t)n_cols + (size_t)i];
      if (c->is_missing[r]) {
        cell->kind = NN_CELL_MISSING;
      } else if (c->type == NN_COL_CATEGORY) {
        cell->kind = NN_CELL_TEXT;
        cell->text = c->text + c->offsets[c->codes[r]];
        cell->len = c->offsets[c->codes[r] + 1] - c->offsets[c->codes[r]] - 1;
      } else {
        cell->kind = c->type == NN_COL_BOOLEAN ? NN_CELL_BOOLEAN : NN_CELL_NUMBER;
        cell->number = c->values[r];
      }
    }
  }
  nn_error err = {{0}, {0}};
  int rc = nn_encoder_apply_records(e, cells, rows, xr, NULL, &err);
  /* a category cell that reads as a missing marker is missing in a record,
   * though the table kept it as text (an override): skip the comparison */
  if (rc == NN_OK)
    FUZZ_CHECK(memcmp(x, xr, rows * w * sizeof *x) == 0, "records encode differently");
  else
    check_refusal(rc, &err);
  free(cells);
  free(xr);
}

static void check_saved(const nn_encoder *e, const uint8_t *buf, size_t len) {
  nn_encoder *l = NULL;
  nn_error err = {{0}, {0}};
  uint8_t *again = NULL;
  size_t len2 = 0;
  int rc = nn_encoder_load(buf, len, KEY, &l, &err);
  FUZZ_CHECK(rc == NN_OK, "a saved encoding does not load: %s", err.message);
  FUZZ_CHECK(nn_encoder_save(l, &again, &len2) == NN_OK, "a loaded encoding does not save");
  FUZZ_CHECK(len2 == len && memcmp(buf, again, len) == 0, "save -> load -> save differs");
  FUZZ_CHECK(nn_encoder_width(l) == nn_encoder_width(e), "widths differ");
  free(again);
  nn_encoder_free(l);
}

/* A buffer as the callbacks of nn_table_save and nn_table_load see it. */
typedef struct {
  uint8_t *buf;
  size_t len, cap, pos;
} mem;

static int mem_write(void *ud, void *buf, size_t len) {
  mem *m = ud;
  if (m->len + len > m->cap) {
    m->cap = 2 * (m->len + len);
    m->buf = realloc(m->buf, m->cap);
    FUZZ_CHECK(m->buf != NULL, "out of memory");
  }
  memcpy(m->buf + m->len, buf, len);
  m->len += len;
  return NN_OK;
}

static int mem_read(void *ud, void *buf, size_t len) {
  mem *m = ud;
  FUZZ_CHECK(m->pos + len <= m->len, "the loader reads past its size");
  memcpy(buf, m->buf + m->pos, len);
  m->pos += len;
  return NN_OK;
}

/* t saves to the bytes it was loaded from (or, when from is NULL, loads
 * back and saves again to the same bytes). */
static void check_table_bytes(const nn_table *t, const uint8_t *from, size_t from_len) {
  mem m = {NULL, 0, 0, 0};
  FUZZ_CHECK(nn_table_save(t, mem_write, &m) == NN_OK, "a table does not save");
  FUZZ_CHECK(m.len == nn_table_saved_bytes(t), "saved %zu bytes, announced %llu", m.len,
             (unsigned long long)nn_table_saved_bytes(t));
  if (from != NULL) {
    FUZZ_CHECK(m.len == from_len && memcmp(m.buf, from, m.len) == 0, "load -> save differs");
  } else {
    nn_table *l = NULL;
    nn_error err = {{0}, {0}};
    mem r = {m.buf, m.len, m.len, 0};
    FUZZ_CHECK(nn_table_load(m.len, mem_read, &r, KEY, &l, &err) == NN_OK,
               "a saved table does not load: %s", err.message);
    check_table_bytes(l, m.buf, m.len);
    nn_table_free(l);
  }
  free(m.buf);
}

static void fuzz_stored_table(const uint8_t *data, size_t size) {
  for (int fixed = 0; fixed < 2; fixed++) {
    mem m = {malloc(size + 1), size, size, 0};
    FUZZ_CHECK(m.buf != NULL, "out of memory");
    memcpy(m.buf, data, size);
    if (fixed && size >= 4) {
      uint32_t crc = nn_crc32(0, m.buf, size - 4);
      for (int i = 0; i < 4; i++) m.buf[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    nn_table *t = NULL;
    nn_error err = {{0}, {0}};
    int rc = nn_table_load(size, mem_read, &m, KEY, &t, &err);
    if (rc == NN_OK) {
      check_table(t);
      check_table_bytes(t, m.buf, size);
      nn_table_free(t);
    } else {
      FUZZ_CHECK(t == NULL, "a refusal returned a table");
      check_refusal(rc, &err);
    }
    free(m.buf);
  }
}

static void fuzz_table(const uint8_t *data, size_t size) {
  if (size < 3) return;
  int n_cols = 1 + data[1] % 6, opt = data[2];
  nn_table_options o;
  nn_table_builder *b = NULL;
  nn_table *t = NULL;
  nn_error err = {{0}, {0}};
  nn_table_options_defaults(&o);
  o.max_cell = 64;
  o.max_bytes = 1 << 20;
  memcpy(o.hash_key, KEY, sizeof KEY);
  FUZZ_CHECK(nn_table_builder_new(&o, &b, &err) == NN_OK, "builder");
  for (int i = 0; i < n_cols; i++) {
    char name[8] = {'c', (char)('0' + i)};
    nn_col_type type = (opt & 7) == i + 1 ? (nn_col_type)(opt >> 5) % NN_COL_TYPES : NN_COL_AUTO;
    FUZZ_CHECK(nn_table_builder_column(b, name, 2, type, &err) == NN_OK, "column: %s", err.message);
  }
  const char *p = (const char *)data + 3, *end = (const char *)data + size;
  int rc = NN_OK;
  while (p < end && rc == NN_OK) {
    const char *q = p;
    while (q < end && *q != '\x1f' && *q != '\n') q++;
    rc = nn_table_builder_cell(b, p, (size_t)(q - p), &err);
    if (rc == NN_OK && (q == end || *q == '\n')) rc = nn_table_builder_end_row(b, &err);
    p = q + 1;
  }
  if (rc == NN_OK) {
    nn_table_report rep;
    rc = nn_table_builder_finish(b, &t, &rep, &err);
    if (rc == NN_EINVAL && rep.column >= 0)
      FUZZ_CHECK(rep.offending > 0 && rep.n_cells >= 1 && rep.n_cells <= NN_TABLE_REPORT_CELLS,
                 "report of %zu cells lists %d", rep.offending, rep.n_cells);
  }
  nn_table_builder_free(b);
  if (rc != NN_OK) {
    check_refusal(rc, &err);
    FUZZ_CHECK(t == NULL, "a refusal returned a table");
    return;
  }
  check_table(t);
  check_table_bytes(t, NULL, 0);
  size_t rows = nn_table_rows(t);
  nn_encode_options eo;
  nn_encode_options_defaults(&eo);
  memcpy(eo.hash_key, KEY, sizeof KEY);
  for (int ty = 0; ty < NN_COL_TYPES; ty++) {
    eo.by_type[ty].impute = (nn_impute)((opt >> 3) % 3);
    eo.by_type[ty].missing_indicator = (opt >> 4) & 1;
    eo.by_type[ty].cyclic = (opt >> 2) & 1;
    eo.by_type[ty].max_categories = 1 + (opt & 3);
  }
  eo.target = n_cols > 1 && (opt & 0x40) ? n_cols - 1 : -1;
  uint32_t *idx = calloc(rows + 1, sizeof *idx);
  FUZZ_CHECK(idx != NULL, "out of memory");
  for (size_t r = 0; r < rows; r++) idx[r] = (uint32_t)r;
  nn_encoder *e = NULL;
  rc = nn_encoder_fit(t, idx, rows, &eo, &e, &err);
  if (rc == NN_OK) {
    size_t w = (size_t)nn_encoder_width(e);
    float *x = calloc(rows * w + 1, sizeof *x);
    FUZZ_CHECK(x != NULL, "out of memory");
    rc = nn_encoder_apply(e, t, NULL, rows, x, &err);
    FUZZ_CHECK(rc == NN_OK || rc == NN_ERANGE, "apply: %d %s", rc, err.message);
    for (size_t i = 0; rc == NN_OK && i < rows * w; i++)
      FUZZ_CHECK(isfinite(x[i]), "value %zu: %g", i, x[i]);
    if (rc == NN_OK) check_records(e, t, x);
    uint8_t *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(nn_encoder_save(e, &buf, &len) == NN_OK, "save");
    check_saved(e, buf, len);
    free(buf);
    free(x);
    nn_encoder_free(e);
  } else {
    check_refusal(rc, &err);
  }
  free(idx);
  nn_table_free(t);
}

static void fuzz_encoding(const uint8_t *data, size_t size) {
  for (int fixed = 0; fixed < 2; fixed++) {
    uint8_t *buf = malloc(size + 1);
    FUZZ_CHECK(buf != NULL, "out of memory");
    memcpy(buf, data, size);
    if (fixed && size >= 4) {
      uint32_t crc = nn_crc32(0, buf, size - 4);
      for (int i = 0; i < 4; i++) buf[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    nn_encoder *e = NULL;
    nn_error err = {{0}, {0}};
    int rc = nn_encoder_load(buf, size, KEY, &e, &err);
    if (rc == NN_OK) {
      check_saved(e, buf, size);
      int n = nn_encoder_columns(e);
      nn_cell *cells = calloc((size_t)n + 1, sizeof *cells);
      float *x = calloc((size_t)nn_encoder_width(e) + 1, sizeof *x);
      FUZZ_CHECK(cells != NULL && x != NULL, "out of memory");
      /* crafted fill values may encode beyond float range: refused, never inf */
      rc = nn_encoder_apply_records(e, cells, 1, x, NULL, &err);
      FUZZ_CHECK(rc == NN_OK || rc == NN_ERANGE, "a missing record: %d %s", rc, err.message);
      for (int i = 0; rc == NN_OK && i < nn_encoder_width(e); i++)
        FUZZ_CHECK(isfinite(x[i]), "output %d", i);
      free(cells);
      free(x);
      nn_encoder_free(e);
    } else {
      FUZZ_CHECK(e == NULL, "a refusal returned an encoding");
      check_refusal(rc, &err);
    }
    free(buf);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] % 3 == 1)
    fuzz_encoding(data + 1, size - 1);
  else if (data[0] % 3 == 2)
    fuzz_stored_table(data + 1, size - 1);
  else
    fuzz_table(data, size);
  return 0;
}
