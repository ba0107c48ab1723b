/* test_table_format.c — the stored form of a typed table: exact round
 * trips through the callbacks, and truncated, corrupt, crafted and
 * future-version bytes refused, as are a failing callback's. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/nn_internal.h"
#include "table_util.h"

typedef struct {
  uint8_t *buf;
  size_t len, cap, pos;
  int fail_after; /* calls before a failure; -1 never */
} mem;

static int mem_write(void *ud, void *buf, size_t len) {
  mem *m = ud;
  if (m->fail_after == 0) return NN_ENOMEM;
  m->fail_after--;
  cr_assert(len <= 65536, "pieces of at most 64 KiB");
  if (m->len + len > m->cap) {
    m->cap = 2 * (m->len + len);
    m->buf = realloc(m->buf, m->cap);
  }
  memcpy(m->buf + m->len, buf, len);
  m->len += len;
  return NN_OK;
}

static int mem_read(void *ud, void *buf, size_t len) {
  mem *m = ud;
  if (m->fail_after == 0) return NN_EINVAL;
  m->fail_after--;
  cr_assert(m->pos + len <= m->len, "read past the end");
  memcpy(buf, m->buf + m->pos, len);
  m->pos += len;
  return NN_OK;
}

static const uint8_t KEY[16] = {4, 2};

static mem saved(const nn_table *t) {
  mem m = {NULL, 0, 0, 0, -1};
  cr_assert_eq(nn_table_save(t, mem_write, &m), NN_OK);
  cr_assert_eq(m.len, nn_table_saved_bytes(t));
  return m;
}

static int load(const uint8_t *buf, size_t len, nn_table **t, nn_error *err) {
  mem m = {(uint8_t *)buf, len, len, 0, -1};
  return nn_table_load(len, mem_read, &m, KEY, t, err);
}

static const char *TABLE = "island,mass,sex,seen,ok,n\n"
                           "Biscoe,4200,male,2024-01-02,true,1\n"
                           "Dream,3800.5,NA,2024-02-03T10:00:00Z,false,2\n"
                           "Biscoe,,female,,yes,3\n"
                           "Torgersen,5000,female,2023-12-31,no,\n";

Test(table_format, round_trip_is_exact) {
  nn_table *t = table_ok(TABLE), *l = NULL;
  mem m = saved(t);
  nn_error err;
  cr_assert_eq(load(m.buf, m.len, &l, &err), NN_OK, "%s", err.message);
  cr_assert_eq(nn_table_rows(l), 4);
  cr_assert_eq(nn_table_columns(l), 6);
  for (int i = 0; i < 6; i++) {
    const nn_table_column *a = nn_table_column_at(t, i), *b = nn_table_column_at(l, i);
    cr_assert_str_eq(a->name, b->name);
    cr_assert_eq(a->type, b->type);
    cr_assert_eq(a->missing, b->missing);
    cr_assert(memcmp(a->is_missing, b->is_missing, 4) == 0);
    if (a->type == NN_COL_CATEGORY) {
      cr_assert_eq(a->n_categories, b->n_categories);
      cr_assert(memcmp(a->codes, b->codes, 4 * sizeof *a->codes) == 0);
      for (int k = 0; k < a->n_categories; k++) {
        cr_assert_str_eq(a->text + a->offsets[k], b->text + b->offsets[k]);
        cr_assert_eq(a->counts[k], b->counts[k], "counts are rebuilt from the codes");
      }
    } else {
      for (int r = 0; r < 4; r++)
        cr_assert(a->is_missing[r] ? isnan(b->values[r]) : a->values[r] == b->values[r]);
    }
  }
  cr_assert_eq(nn_table_find(l, "seen", 4), 3);
  cr_assert_eq(nn_table_category_code(l, 0, "Dream", 5), 1);
  const char *const *na;
  cr_assert_eq(nn_table_na_values(l, &na), 6);
  mem again = saved(l);
  cr_assert(again.len == m.len && memcmp(again.buf, m.buf, m.len) == 0, "save -> load -> save");
  free(again.buf);
  free(m.buf);
  nn_table_free(l);
  nn_table_free(t);
}

/* Larger than the 64 KiB stage: arrays cross pieces. */
Test(table_format, many_rows) {
  nn_table_options o;
  nn_table_options_defaults(&o);
  nn_table_builder *b = NULL;
  nn_table *t = NULL, *l = NULL;
  cr_assert_eq(nn_table_builder_new(&o, &b, NULL), NN_OK);
  nn_table_builder_column(b, "x", 1, NN_COL_AUTO, NULL);
  nn_table_builder_column(b, "c", 1, NN_COL_AUTO, NULL);
  for (int r = 0; r < 30001; r++) {
    char c[16];
    int n = snprintf(c, sizeof c, "k%d", r % 5000);
    if (r % 7) nn_table_builder_number_at(b, 0, r * 0.5, NULL);
    nn_table_builder_cell_at(b, 1, c, (size_t)n, NULL);
    nn_table_builder_end_row(b, NULL);
  }
  cr_assert_eq(nn_table_builder_finish(b, &t, NULL, NULL), NN_OK);
  nn_table_builder_free(b);
  mem m = saved(t);
  nn_error err;
  cr_assert_eq(load(m.buf, m.len, &l, &err), NN_OK, "%s", err.message);
  const nn_table_column *x = nn_table_column_at(l, 0), *c = nn_table_column_at(l, 1);
  cr_assert(x->is_missing[7] && x->values[30000] == 15000 && x->missing == 4286);
  cr_assert(c->n_categories == 5000 && c->codes[29999] == 4999 && c->counts[0] == 7);
  free(m.buf);
  nn_table_free(l);
  nn_table_free(t);
}

static void refused(const uint8_t *buf, size_t len, int want, const char *why) {
  nn_table *t = (nn_table *)&why;
  nn_error err = {{0}, {0}};
  int rc = load(buf, len, &t, &err);
  cr_assert_eq(rc, want, "%s: %d (%s)", why, rc, err.message);
  cr_assert_null(t, "%s", why);
  cr_assert_neq(err.message[0], '\0', "%s", why);
}

Test(table_format, truncated_corrupt_and_future_refused) {
  nn_table *t = table_ok(TABLE);
  mem m = saved(t);
  uint8_t *copy = malloc(m.len + 8);
  for (size_t n = 0; n < m.len; n++) refused(m.buf, n, NN_EFORMAT, "truncated");
  for (size_t i = 0; i < m.len; i++)
    for (int bit = 0; bit < 8; bit += 3) {
      memcpy(copy, m.buf, m.len);
      copy[i] ^= (uint8_t)(1u << bit);
      nn_table *l = NULL;
      int rc = load(copy, m.len, &l, NULL);
      cr_assert(rc == NN_EFORMAT || (i >= 8 && i < 12 && rc == NN_EVERSION),
                "byte %zu bit %d: %d", i, bit, rc);
      cr_assert_null(l);
    }
  memcpy(copy, m.buf, m.len);
  nn__put_u32(copy + 8, NN_TABLE_FORMAT_VERSION + 1);
  refused(copy, m.len, NN_EVERSION, "future version");
  /* crafted counts, resealed, are checked before allocation */
  memcpy(copy, m.buf, m.len);
  nn__put_u64(copy + 12, 1ull << 31);
  nn__put_u32(copy + m.len - 4, nn_crc32(0, copy, m.len - 4));
  refused(copy, m.len, NN_EFORMAT, "rows beyond the bytes");
  memcpy(copy, m.buf, m.len + 0);
  memcpy(copy + m.len, "\0\0\0\0", 4);
  nn__put_u32(copy + m.len, nn_crc32(0, copy, m.len - 4));
  refused(copy, m.len + 4, NN_EFORMAT, "bytes after the last column");
  free(copy);
  free(m.buf);
  nn_table_free(t);
}

Test(table_format, callback_failures_propagate) {
  nn_table *t = table_ok(TABLE), *l = NULL;
  mem m = {NULL, 0, 0, 0, 0};
  cr_assert_eq(nn_table_save(t, mem_write, &m), NN_ENOMEM);
  free(m.buf);
  m = saved(t);
  m.fail_after = 3;
  nn_error err;
  cr_assert_eq(nn_table_load(m.len, mem_read, &m, KEY, &l, &err), NN_EINVAL);
  cr_assert_null(l);
  free(m.buf);
  nn_table_free(t);
}

/* Found by fuzz_table: a missing row's value bits were taken as anything,
 * so a loaded table saved to other bytes. One NaN pattern is written and
 * required. */
Test(table_format, missing_values_are_one_nan) {
  nn_table *t = table_ok("x\n1.5\nNA\n");
  mem m = saved(t);
  /* the second value: after header, rows, markers, columns, name, type,
   * missing count and the one mask byte */
  size_t off = 12 + 8 + 4;
  for (int i = 0; i < 6; i++) off += 4 + nn__le32(m.buf + off);
  off += 4 + 4 + 1 + 4 + 8 + 1 + 8;
  cr_assert_eq(nn__le64(m.buf + off), 0x7ff8000000000000ull);
  m.buf[off] = 1; /* another NaN payload */
  nn__put_u32(m.buf + m.len - 4, nn_crc32(0, m.buf, m.len - 4));
  refused(m.buf, m.len, NN_EFORMAT, "another NaN");
  free(m.buf);
  nn_table_free(t);
}

/* A write that fails (a full disk under the store) ends the save with its
 * status; the staging buffer was overrun by every row after the failure
 * (the daemon aborted in free()). */
static int refuse_write(void *ud, void *buf, size_t len) {
  (void)buf;
  (void)len;
  ++*(int *)ud;
  return NN_ERANGE;
}

Test(table_format, a_failed_write_past_the_first_stage_ends_the_save) {
  nn_table_options o;
  nn_table_options_defaults(&o);
  nn_table_builder *b = NULL;
  nn_table *t = NULL;
  cr_assert_eq(nn_table_builder_new(&o, &b, NULL), NN_OK);
  nn_table_builder_column(b, "x", 1, NN_COL_AUTO, NULL);
  nn_table_builder_column(b, "c", 1, NN_COL_AUTO, NULL);
  for (int r = 0; r < 200000; r++) { /* ~2.6 MB saved: 40 stages */
    nn_table_builder_number_at(b, 0, r * 0.25, NULL);
    nn_table_builder_cell_at(b, 1, r % 3 ? "a" : "b", 1, NULL);
    nn_table_builder_end_row(b, NULL);
  }
  cr_assert_eq(nn_table_builder_finish(b, &t, NULL, NULL), NN_OK);
  nn_table_builder_free(b);
  int calls = 0;
  cr_assert_eq(nn_table_save(t, refuse_write, &calls), NN_ERANGE);
  cr_assert_eq(calls, 1, "nothing is written after the failure");
  nn_table_free(t);
}
