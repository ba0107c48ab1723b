/*
 * table_codec.c — a typed table as bytes, for the daemon to store the raw
 * data set (docs/table-format.md): versioned, little-endian field by field,
 * sealed by a CRC-32, and moved through the caller's callback in pieces of
 * at most 64 KiB, so saving never holds a second copy of the table and
 * loading holds one staging buffer besides the table it builds.
 *
 * Loading reads the header and checks the version first, then checks every
 * count against the bytes that remain before allocating for it (a column's
 * rows need 4 or 8 bytes each in the input, so memory stays within a few
 * times the input's size), validates every value, and compares the CRC at
 * the end: a table that loads is one nn_table_builder_finish could have
 * produced, whatever the bytes were.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "table_internal.h"

static const uint8_t MAGIC[8] = {'T', 'R', 'A', 'I', 'N', 'D', 'T', 'B'};

#define STAGE ((size_t)65536) /* bytes moved per callback */
#define HEADER_BYTES 12
#define CRC_BYTES 4
/* The value of a missing row, a quiet NaN: one pattern, so that the bytes
 * of a table are canonical (load -> save gives them back). */
#define MISSING_BITS 0x7ff8000000000000ull

static uint64_t mask_bytes(uint64_t rows) { return (rows + 7) / 8; }

uint64_t nn_table_saved_bytes(const nn_table *t) {
  uint64_t n = HEADER_BYTES + 8 + 4 + 4 + CRC_BYTES, rows = t->rows;
  for (int i = 0; i < t->n_na; i++) n += 4 + strlen(t->na[i]);
  for (int i = 0; i < t->n_cols; i++) {
    const nn_table_column *c = &t->cols[i];
    n += 4 + c->name_len + 4 + 8 + mask_bytes(rows);
    if (c->type == NN_COL_CATEGORY)
      n += 4 + 4 * (uint64_t)c->n_categories + t->own[i].dict.len - (uint64_t)c->n_categories +
           4 * rows; /* each entry: u32 length, its bytes without the NUL */
    else
      n += 8 * rows;
  }
  return n;
}

/* ---- writing through a staging buffer ---------------------------------------- */

typedef struct {
  nn_table_io_fn fn;
  void *ud;
  uint8_t *buf; /* (STAGE,) */
  size_t n;     /* bytes staged */
  uint32_t crc; /* of the bytes passed on so far */
  int rc;       /* the first failure; later writes do nothing */
} writer;

/* Pass the stage on. After a failure it is emptied all the same: room()
 * goes on handing out its bytes until the save ends. */
static void flush(writer *o) {
  if (o->rc == NN_OK && o->n > 0) {
    o->crc = nn_crc32(o->crc, o->buf, o->n);
    o->rc = o->fn(o->ud, o->buf, o->n);
  }
  o->n = 0;
}

/* k <= 8 bytes of room in the stage */
static uint8_t *room(writer *o, size_t k) {
  if (STAGE - o->n < k) flush(o);
  uint8_t *p = o->buf + o->n;
  o->n += k;
  return p;
}

static void o_u32(writer *o, uint32_t v) { nn__put_u32(room(o, 4), v); }
static void o_u64(writer *o, uint64_t v) { nn__put_u64(room(o, 8), v); }

static void o_bytes(writer *o, const void *p, size_t len) {
  const uint8_t *b = p;
  while (len > 0) {
    if (o->n == STAGE) flush(o);
    size_t k = STAGE - o->n < len ? STAGE - o->n : len;
    memcpy(o->buf + o->n, b, k);
    o->n += k;
    b += k;
    len -= k;
  }
}

static void o_str(writer *o, const char *s, size_t len) {
  o_u32(o, (uint32_t)len);
  o_bytes(o, s, len);
}

static void o_column(writer *o, const nn_table *t, int i) {
  const nn_table_column *c = &t->cols[i];
  size_t rows = t->rows;
  o_str(o, c->name, c->name_len);
  o_u32(o, (uint32_t)c->type);
  o_u64(o, c->missing);
  for (size_t r = 0; r < rows; r += 8) { /* bit r % 8 of byte r / 8: row r is missing */
    uint8_t byte = 0;
    for (size_t k = r; k < rows && k < r + 8; k++) byte |= (uint8_t)(c->is_missing[k] << (k - r));
    *room(o, 1) = byte;
  }
  if (c->type != NN_COL_CATEGORY) {
    for (size_t r = 0; r < rows; r++) {
      uint8_t *p = room(o, 8);
      if (c->is_missing[r])
        nn__put_u64(p, MISSING_BITS);
      else
        nn__put_f64(p, &c->values[r]);
    }
    return;
  }
  o_u32(o, (uint32_t)c->n_categories);
  for (int32_t k = 0; k < c->n_categories; k++)
    o_str(o, c->text + c->offsets[k], c->offsets[k + 1] - c->offsets[k] - 1);
  for (size_t r = 0; r < rows; r++) nn__put_u32(room(o, 4), (uint32_t)c->codes[r]);
}

int nn_table_save(const nn_table *t, nn_table_io_fn write, void *ud) {
  writer o = {write, ud, malloc(STAGE), 0, 0, NN_OK};
  uint8_t crc[CRC_BYTES];
  if (o.buf == NULL) return NN_ENOMEM;
  o_bytes(&o, MAGIC, sizeof MAGIC);
  o_u32(&o, NN_TABLE_FORMAT_VERSION);
  o_u64(&o, t->rows);
  o_u32(&o, (uint32_t)t->n_na);
  for (int i = 0; i < t->n_na; i++) o_str(&o, t->na[i], strlen(t->na[i]));
  o_u32(&o, (uint32_t)t->n_cols);
  for (int i = 0; i < t->n_cols; i++) o_column(&o, t, i);
  flush(&o);
  if (o.rc == NN_OK) {
    nn__put_u32(crc, o.crc);
    o.rc = write(ud, crc, sizeof crc);
  }
  free(o.buf);
  return o.rc;
}

/* ---- reading -------------------------------------------------------------------- */

typedef struct {
  nn_table_io_fn fn;
  void *ud;
  uint8_t *buf;  /* (STAGE,) */
  uint64_t left; /* bytes before the CRC not read yet */
  uint32_t crc;
  nn_error *err;
} reader;

/* Read k <= STAGE bytes into the stage. @return them, or NULL (err filled) */
static const uint8_t *take(reader *r, size_t k, const char *what, int *rc) {
  if (k > r->left) {
    nn__fail(r->err, NN_EFORMAT, what, "table is truncated: %s does not fit in the %llu bytes "
             "that remain", what, (unsigned long long)r->left);
    *rc = NN_EFORMAT;
    return NULL;
  }
  if (k > 0 && (*rc = r->fn(r->ud, r->buf, k)) != NN_OK) {
    nn__fail(r->err, *rc, what, "table: reading %s failed", what);
    return NULL;
  }
  r->crc = nn_crc32(r->crc, r->buf, k);
  r->left -= k;
  return r->buf;
}

static int bad(reader *r, const char *what, const char *why) {
  nn__fail(r->err, NN_EFORMAT, what, "table is corrupt: %s %s", what, why);
  return NN_EFORMAT;
}

static int i_u32(reader *r, const char *what, uint32_t *v) {
  int rc = NN_OK;
  const uint8_t *b = take(r, 4, what, &rc);
  if (b != NULL) *v = nn__le32(b);
  return rc;
}

static int i_u64(reader *r, const char *what, uint64_t *v) {
  int rc = NN_OK;
  const uint8_t *b = take(r, 8, what, &rc);
  if (b != NULL) *v = nn__le64(b);
  return rc;
}

/* A string of at most max bytes into a new NUL-terminated buffer (no NUL
 * inside when nul_free). */
static int i_str(reader *r, const char *what, uint64_t max, int nul_free, char **s, size_t *len) {
  uint32_t n = 0;
  int rc = i_u32(r, what, &n);
  if (rc != NN_OK) return rc;
  if (n > max || n > r->left) return bad(r, what, "is longer than the bytes that remain or its limit");
  if ((*s = malloc((size_t)n + 1)) == NULL) return nn__fail(r->err, NN_ENOMEM, "", "out of memory");
  for (size_t done = 0; done < n;) {
    size_t k = n - done < STAGE ? n - done : STAGE;
    const uint8_t *b = take(r, k, what, &rc);
    if (b == NULL) return rc;
    memcpy(*s + done, b, k);
    done += k;
  }
  (*s)[n] = '\0';
  *len = n;
  if (nul_free && memchr(*s, '\0', n) != NULL) return bad(r, what, "holds a NUL byte");
  return NN_OK;
}

static int i_mask(reader *r, size_t rows, uint64_t missing, uint8_t *mask) {
  uint64_t counted = 0;
  int rc = NN_OK;
  for (size_t r0 = 0; r0 < rows;) {
    size_t bytes = mask_bytes(rows - r0) < STAGE ? (size_t)mask_bytes(rows - r0) : STAGE;
    const uint8_t *b = take(r, bytes, "missing mask", &rc);
    if (b == NULL) return rc;
    for (size_t j = 0; j < bytes; j++)
      for (int k = 0; k < 8; k++, r0++) {
        uint8_t bit = (b[j] >> k) & 1u;
        if (r0 >= rows) {
          if (bit) return bad(r, "missing mask", "has bits past the last row");
          continue;
        }
        mask[r0] = bit;
        counted += bit;
      }
  }
  return counted == missing ? NN_OK : bad(r, "missing mask", "does not hold the missing count");
}

static int i_values(reader *r, nn_col_type type, size_t rows, const uint8_t *mask, double *v) {
  int rc = NN_OK;
  for (size_t r0 = 0; r0 < rows;) {
    size_t n = rows - r0 < STAGE / 8 ? rows - r0 : STAGE / 8;
    const uint8_t *b = take(r, 8 * n, "values", &rc);
    if (b == NULL) return rc;
    for (size_t j = 0; j < n; j++, r0++) {
      uint64_t bits = nn__le64(b + 8 * j);
      memcpy(&v[r0], &bits, sizeof bits);
      if (mask[r0]) {
        if (bits != MISSING_BITS) return bad(r, "values", "of missing rows are not the NaN written");
        continue;
      }
      double x = v[r0];
      if (!isfinite(x) || (type == NN_COL_INTEGER && (x != trunc(x) || fabs(x) > 9007199254740992.0)) ||
          (type == NN_COL_BOOLEAN && x != 0 && x != 1) ||
          (type == NN_COL_DATETIME && !(x >= NN__MIN_SECONDS && x < NN__MAX_SECONDS)))
        return bad(r, "values", "hold a value its column type cannot");
    }
  }
  return NN_OK;
}

static int i_category(reader *r, size_t rows, const uint8_t *mask, struct nn__tcol *own) {
  uint32_t n = 0;
  int rc = i_u32(r, "categories", &n);
  if (rc != NN_OK) return rc;
  if (n > NN__DICT_MAX || n > r->left / 4) return bad(r, "categories", "are too many");
  for (uint32_t k = 0; k < n; k++) {
    char *s = NULL;
    size_t len = 0;
    int32_t code;
    rc = i_str(r, "category", UINT32_MAX - 1, 0, &s, &len);
    if (rc == NN_OK) rc = nn__dict_add(&own->dict, s, len, SIZE_MAX, &code);
    free(s);
    if (rc == NN_ERANGE) return bad(r, "categories", "take more than 4 GiB");
    if (rc != NN_OK) return rc == NN_ENOMEM ? nn__fail(r->err, rc, "", "out of memory") : rc;
    if (code != (int32_t)k) return bad(r, "categories", "hold an entry twice");
    own->dict.count[code] = 0; /* counted from the codes below */
  }
  if ((uint64_t)rows * 4 > r->left) return bad(r, "codes", "do not fit in the bytes that remain");
  if ((own->codes = malloc((rows ? rows : 1) * sizeof *own->codes)) == NULL)
    return nn__fail(r->err, NN_ENOMEM, "", "out of memory");
  for (size_t r0 = 0; r0 < rows;) {
    size_t m = rows - r0 < STAGE / 4 ? rows - r0 : STAGE / 4;
    const uint8_t *b = take(r, 4 * m, "codes", &rc);
    if (b == NULL) return rc;
    for (size_t j = 0; j < m; j++, r0++) {
      uint32_t u = nn__le32(b + 4 * j);
      int32_t code = u == UINT32_MAX ? -1 : u < n ? (int32_t)u : -2;
      if (code == -2 || (code == -1) != (mask[r0] != 0))
        return bad(r, "codes", "point outside the dictionary or disagree with the mask");
      own->codes[r0] = code;
      if (code >= 0) own->dict.count[code]++;
    }
  }
  return NN_OK;
}

static int i_column(reader *r, nn_table *t, int i) {
  struct nn__tcol *own = &t->own[i];
  nn_table_column *view = &t->cols[i];
  size_t rows = t->rows, name_len = 0;
  uint32_t type = 0;
  uint64_t missing = 0;
  int32_t code;
  int rc;
  nn__dict_init(&own->dict, t->names.key);
  if ((rc = i_str(r, "column name", NN_TABLE_MAX_NAME, 0, &own->name, &name_len)) != NN_OK)
    return rc;
  if (nn__dict_add(&t->names, own->name, name_len, SIZE_MAX, &code) != NN_OK)
    return nn__fail(r->err, NN_ENOMEM, "", "out of memory");
  if (t->names.count[code] > 1) return bad(r, "column name", "appears twice");
  if ((rc = i_u32(r, "type", &type)) != NN_OK || (rc = i_u64(r, "missing", &missing)) != NN_OK)
    return rc;
  if (type >= NN_COL_TYPES) return bad(r, "type", "names no column type");
  if (missing > rows) return bad(r, "missing", "is more than the rows");
  view->type = (nn_col_type)type;
  view->missing = (size_t)missing;
  if ((own->mask = malloc(rows ? rows : 1)) == NULL)
    return nn__fail(r->err, NN_ENOMEM, "", "out of memory");
  if ((rc = i_mask(r, rows, missing, own->mask)) != NN_OK) return rc;
  if (type == NN_COL_CATEGORY) {
    if ((rc = i_category(r, rows, own->mask, own)) != NN_OK) return rc;
    view->n_categories = own->dict.n;
    view->text = own->dict.text ? own->dict.text : "";
    view->offsets = own->dict.off;
    view->counts = own->dict.count;
  } else {
    if ((uint64_t)rows * 8 > r->left) return bad(r, "values", "do not fit in the bytes that remain");
    if ((own->values = malloc((rows ? rows : 1) * sizeof *own->values)) == NULL)
      return nn__fail(r->err, NN_ENOMEM, "", "out of memory");
    if ((rc = i_values(r, view->type, rows, own->mask, own->values)) != NN_OK) return rc;
  }
  view->name = own->name;
  view->name_len = name_len;
  view->is_missing = own->mask;
  view->values = own->values;
  view->codes = own->codes;
  t->bytes += rows * (1 + (type == NN_COL_CATEGORY ? 4 : 8)) + nn__dict_bytes(&own->dict);
  return NN_OK;
}

int nn_table_load(uint64_t size, nn_table_io_fn read, void *ud, const uint8_t key[16],
                  nn_table **out, nn_error *err) {
  reader r = {read, ud, NULL, 0, 0, err};
  nn_table *t = NULL;
  const uint8_t *b;
  uint64_t rows = 0;
  uint32_t version, n_na = 0, n_cols = 0;
  int rc = NN_OK;
  *out = NULL;
  if (size < HEADER_BYTES + CRC_BYTES)
    return nn__fail(err, NN_EFORMAT, "", "table is truncated: %llu bytes is shorter than any "
                    "table", (unsigned long long)size);
  if ((r.buf = malloc(STAGE)) == NULL) return nn__fail(err, NN_ENOMEM, "", "out of memory");
  r.left = size - CRC_BYTES;
  if ((b = take(&r, HEADER_BYTES, "header", &rc)) == NULL) goto exit;
  if (memcmp(b, MAGIC, sizeof MAGIC) != 0) {
    rc = nn__fail(err, NN_EFORMAT, "", "not a traind table (bad magic)");
    goto exit;
  }
  if ((version = nn__le32(b + 8)) != NN_TABLE_FORMAT_VERSION) {
    rc = nn__fail(err, NN_EVERSION, "", "table format version %lu is not supported (this build "
                  "reads version %d)", (unsigned long)version, NN_TABLE_FORMAT_VERSION);
    goto exit;
  }
  if ((rc = i_u64(&r, "rows", &rows)) != NN_OK || (rc = i_u32(&r, "missing markers", &n_na)) != NN_OK)
    goto exit;
  if (rows > UINT32_MAX || rows > SIZE_MAX / 8) { /* rows are indexed by uint32_t */
    rc = bad(&r, "rows", "are more than 2^32 - 1");
    goto exit;
  }
  if (n_na > NN_TABLE_MAX_NA) {
    rc = bad(&r, "missing markers", "are too many");
    goto exit;
  }
  if ((t = calloc(1, sizeof *t)) == NULL || (t->na = calloc(n_na + 1, sizeof *t->na)) == NULL)
    goto nomem;
  nn__dict_init(&t->names, key);
  t->rows = (size_t)rows;
  for (; t->n_na < (int)n_na; t->n_na++) {
    size_t len;
    if ((rc = i_str(&r, "missing marker", NN_TABLE_MAX_NAME, 1, &t->na[t->n_na], &len)) != NN_OK) {
      t->n_na++;
      goto exit;
    }
  }
  if ((rc = i_u32(&r, "columns", &n_cols)) != NN_OK) goto exit;
  /* every column holds 4 or 8 bytes a row, and at least 16 besides */
  if (n_cols < 1 || n_cols > NN_TABLE_MAX_COLUMNS ||
      ((uint64_t)rows * 4 + 16) * n_cols > r.left) {
    rc = bad(&r, "columns", "are out of range, or their rows do not fit in the bytes that remain");
    goto exit;
  }
  if ((t->cols = calloc(n_cols, sizeof *t->cols)) == NULL ||
      (t->own = calloc(n_cols, sizeof *t->own)) == NULL)
    goto nomem;
  for (; t->n_cols < (int)n_cols; t->n_cols++)
    if ((rc = i_column(&r, t, t->n_cols)) != NN_OK) {
      t->n_cols++;
      goto exit;
    }
  if (r.left != 0) {
    rc = nn__fail(err, NN_EFORMAT, "", "table has %llu unexpected bytes after its last column",
                  (unsigned long long)r.left);
    goto exit;
  }
  uint32_t crc = r.crc;
  r.left = CRC_BYTES;
  if ((b = take(&r, CRC_BYTES, "crc", &rc)) == NULL) goto exit;
  if (nn__le32(b) != crc) {
    rc = nn__fail(err, NN_EFORMAT, "", "checksum mismatch: the table is corrupt");
    goto exit;
  }
  *out = t;
  t = NULL;
  goto exit;
nomem:
  rc = nn__fail(err, NN_ENOMEM, "", "out of memory");
exit:
  nn_table_free(t);
  free(r.buf);
  return rc;
}
