/*
 * encode_codec.c — a fitted encoding as bytes, stored with each weights
 * version: the format of docs/encoding-format.md, versioned, little-endian
 * field by field (the helpers checkpoint.c uses) and sealed by a CRC-32.
 *
 * Reading trusts nothing: every length is checked against the bytes that
 * remain before it is used, every enum, flag and number against its range,
 * names and categories for duplicates, and each column's width against the
 * one its type and options give; the result is what nn_encoder_fit could
 * have produced. The hash key is not stored: the loader's caller passes its
 * own, so a saved encoding never reveals the key of a running daemon.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "table_internal.h"

static const uint8_t MAGIC[8] = {'T', 'R', 'A', 'I', 'N', 'D', 'E', 'N'};

#define HEADER_BYTES 12 /* magic, u32 version */
#define CRC_BYTES 4

enum { F_STANDARDIZE = 1, F_INDICATOR = 2, F_CYCLIC = 4, F_ALL = 7 };

/* ---- writing: sized in a first pass (p == NULL counts), filled in a second */

typedef struct {
  uint8_t *p;   /* NULL while counting */
  uint64_t len; /* bytes so far */
} writer;

static void w_u32(writer *w, uint32_t v) {
  if (w->p) nn__put_u32(w->p + w->len, v);
  w->len += 4;
}

static void w_f64(writer *w, double v) {
  if (w->p) nn__put_f64(w->p + w->len, &v);
  w->len += 8;
}

static void w_str(writer *w, const char *s, size_t len) {
  w_u32(w, (uint32_t)len);
  if (w->p) memcpy(w->p + w->len, s, len);
  w->len += len;
}

static void w_dict(writer *w, const nn__dict *d) {
  w_u32(w, (uint32_t)d->n);
  for (int32_t k = 0; k < d->n; k++) {
    size_t len;
    const char *s = nn__dict_entry(d, k, &len);
    w_str(w, s, len);
  }
}

static void w_column(writer *w, const nn__enc_col *c) {
  w_str(w, c->name, c->name_len);
  w_u32(w, (uint32_t)c->type);
  w_u32(w, (uint32_t)c->impute);
  w_u32(w, (c->standardize ? F_STANDARDIZE : 0) | (c->indicator ? F_INDICATOR : 0) |
               (c->cyclic ? F_CYCLIC : 0));
  w_u32(w, (uint32_t)c->max_categories);
  w_u32(w, (uint32_t)c->n_parts);
  for (int p = 0; p < c->n_parts; p++) {
    w_f64(w, c->fill[p]);
    w_f64(w, c->mean[p]);
    w_f64(w, c->scale[p]);
  }
  w_dict(w, &c->cats);
  w_u32(w, (uint32_t)c->width);
}

static void w_encoder(writer *w, const nn_encoder *e) {
  w->len = 0;
  if (w->p) memcpy(w->p, MAGIC, sizeof MAGIC);
  w->len = sizeof MAGIC;
  w_u32(w, NN_ENCODE_FORMAT_VERSION);
  w_u32(w, (uint32_t)e->n_na);
  for (int i = 0; i < e->n_na; i++) w_str(w, e->na[i], strlen(e->na[i]));
  w_u32(w, (uint32_t)e->n_cols);
  w_u32(w, (uint32_t)e->width);
  for (int i = 0; i < e->n_cols; i++) w_column(w, &e->cols[i]);
  w_u32(w, (uint32_t)e->has_target);
  if (e->has_target) {
    w_str(w, e->target.name, e->target.name_len);
    w_u32(w, (uint32_t)e->target.type);
    w_u32(w, (uint32_t)e->target_kind);
    if (e->target_kind == NN_TARGET_REGRESSION) {
      w_f64(w, e->target.mean[0]);
      w_f64(w, e->target.scale[0]);
    } else {
      w_dict(w, &e->classes);
    }
  }
}

int nn_encoder_save(const nn_encoder *e, uint8_t **buf, size_t *len) {
  writer w = {NULL, 0};
  *buf = NULL;
  *len = 0;
  w_encoder(&w, e); /* count */
  uint64_t total = w.len + CRC_BYTES;
  if (total > SIZE_MAX) return NN_ERANGE;
  if ((w.p = malloc((size_t)total)) == NULL) return NN_ENOMEM;
  w_encoder(&w, e); /* fill */
  nn__put_u32(w.p + w.len, nn_crc32(0, w.p, (size_t)w.len));
  *buf = w.p;
  *len = (size_t)total;
  return NN_OK;
}

/* ---- reading ---------------------------------------------------------------------- */

typedef struct {
  const uint8_t *p;
  size_t left; /* bytes before the CRC */
  nn_error *err;
} reader;

/* Always NN_EFORMAT (a constant, so the compiler sees no success path). */
static int truncated(reader *r, const char *what) {
  nn__fail(r->err, NN_EFORMAT, what, "encoding is truncated: %s does not fit in the %zu bytes "
           "that remain", what, r->left);
  return NN_EFORMAT;
}

static int r_u32(reader *r, const char *what, uint32_t *v) {
  if (r->left < 4) return truncated(r, what);
  *v = nn__le32(r->p);
  r->p += 4;
  r->left -= 4;
  return NN_OK;
}

static int r_f64(reader *r, const char *what, double *v) {
  if (r->left < 8) return truncated(r, what);
  uint64_t bits = nn__le64(r->p);
  memcpy(v, &bits, sizeof bits);
  r->p += 8;
  r->left -= 8;
  return NN_OK;
}

/* A string of at most max bytes, pointing into the buffer. */
static int r_str(reader *r, const char *what, size_t max, const char **s, size_t *len) {
  uint32_t n;
  int rc = r_u32(r, what, &n);
  if (rc != NN_OK) return rc;
  if (n > max) {
    nn__fail(r->err, NN_EFORMAT, what, "%s is longer than %zu bytes", what, max);
    return NN_EFORMAT;
  }
  if (n > r->left) return truncated(r, what);
  *s = (const char *)r->p;
  *len = n;
  r->p += n;
  r->left -= n;
  return NN_OK;
}

static int bad(reader *r, const char *what, const char *why) {
  return nn__fail(r->err, NN_EFORMAT, what, "encoding is corrupt: %s %s", what, why);
}

/* A dictionary of at most max distinct strings, each at most max_len bytes;
 * sorted: each must follow the one before bytewise. */
static int r_dict(reader *r, const char *what, uint32_t max, size_t max_len, int sorted,
                  nn__dict *d) {
  uint32_t n;
  const char *prev = NULL;
  size_t prev_len = 0;
  int rc = r_u32(r, what, &n);
  if (rc != NN_OK) return rc;
  if (n > max) return bad(r, what, "holds too many entries");
  for (uint32_t k = 0; k < n; k++) {
    const char *s;
    size_t len;
    int32_t code;
    if ((rc = r_str(r, what, max_len, &s, &len)) != NN_OK) return rc;
    if (sorted && prev != NULL) {
      size_t m = len < prev_len ? len : prev_len;
      int c = memcmp(prev, s, m);
      if (c > 0 || (c == 0 && prev_len >= len)) return bad(r, what, "are not in order");
    }
    if (nn__dict_add(d, s, len, SIZE_MAX, &code) != NN_OK)
      return nn__fail(r->err, NN_ENOMEM, "", "out of memory");
    if (d->count[code] > 1) return bad(r, what, "holds an entry twice");
    prev = s;
    prev_len = len;
  }
  return NN_OK;
}

static int r_name(reader *r, const char *what, char **name, size_t *name_len) {
  const char *s = NULL;
  size_t len = 0;
  int rc = r_str(r, what, NN_TABLE_MAX_NAME, &s, &len);
  if (rc != NN_OK) return rc;
  if ((*name = malloc(len + 1)) == NULL) return nn__fail(r->err, NN_ENOMEM, "", "out of memory");
  memcpy(*name, s, len);
  (*name)[len] = '\0';
  *name_len = len;
  return NN_OK;
}

static int r_column(reader *r, nn_encoder *e, nn__enc_col *c) {
  uint32_t type, impute, flags, maxc, parts, width;
  int32_t code;
  int rc;
  if ((rc = r_name(r, "column name", &c->name, &c->name_len)) != NN_OK) return rc;
  if (nn__dict_add(&e->names, c->name, c->name_len, SIZE_MAX, &code) != NN_OK)
    return nn__fail(r->err, NN_ENOMEM, "", "out of memory");
  if (e->names.count[code] > 1) return bad(r, "column name", "appears twice");
  if ((rc = r_u32(r, "type", &type)) != NN_OK || (rc = r_u32(r, "impute", &impute)) != NN_OK ||
      (rc = r_u32(r, "flags", &flags)) != NN_OK ||
      (rc = r_u32(r, "max_categories", &maxc)) != NN_OK ||
      (rc = r_u32(r, "parts", &parts)) != NN_OK)
    return rc;
  if (type >= NN_COL_TYPES) return bad(r, "type", "names no column type");
  if (impute > NN_IMPUTE_CONSTANT) return bad(r, "impute", "names no imputation");
  if (flags > F_ALL || ((flags & F_CYCLIC) && type != NN_COL_DATETIME))
    return bad(r, "flags", "has unknown bits");
  if (maxc < 1 || maxc > NN_ENCODE_MAX_CATEGORIES) return bad(r, "max_categories", "is out of range");
  c->type = (nn_col_type)type;
  c->impute = (nn_impute)impute;
  c->standardize = (flags & F_STANDARDIZE) != 0;
  c->indicator = (flags & F_INDICATOR) != 0;
  c->cyclic = (flags & F_CYCLIC) != 0;
  c->max_categories = (int)maxc;
  uint32_t want = type == NN_COL_CATEGORY ? 0 : type == NN_COL_DATETIME ? NN__DT_PARTS : 1;
  if (parts != want) return bad(r, "parts", "do not match the column type");
  c->n_parts = (int)parts;
  for (int p = 0; p < c->n_parts; p++) {
    if ((rc = r_f64(r, "fill", &c->fill[p])) != NN_OK ||
        (rc = r_f64(r, "mean", &c->mean[p])) != NN_OK ||
        (rc = r_f64(r, "scale", &c->scale[p])) != NN_OK)
      return rc;
    if (!isfinite(c->fill[p]) || !isfinite(c->mean[p]) || !isfinite(c->scale[p]) ||
        !(c->scale[p] > 0))
      return bad(r, "scale", "or a fill or mean is not finite, or a scale not positive");
  }
  nn__dict_init(&c->cats, e->key);
  if ((rc = r_dict(r, "categories", maxc, NN_TABLE_MAX_CELL, 1, &c->cats)) != NN_OK) return rc;
  if (type != NN_COL_CATEGORY && c->cats.n > 0) return bad(r, "categories", "belong to no category");
  if ((rc = r_u32(r, "width", &width)) != NN_OK) return rc;
  if ((int)width != nn__enc_col_width(c)) return bad(r, "width", "does not match the column");
  return NN_OK;
}

static int r_target(reader *r, nn_encoder *e) {
  uint32_t type, kind;
  int rc;
  if ((rc = r_name(r, "target name", &e->target.name, &e->target.name_len)) != NN_OK ||
      (rc = r_u32(r, "target type", &type)) != NN_OK ||
      (rc = r_u32(r, "target kind", &kind)) != NN_OK)
    return rc;
  if (type >= NN_COL_TYPES || type == NN_COL_DATETIME) return bad(r, "target type", "is invalid");
  if (kind != NN_TARGET_REGRESSION && kind != NN_TARGET_CLASSIFICATION)
    return bad(r, "target kind", "is invalid");
  if (kind == NN_TARGET_REGRESSION && type == NN_COL_CATEGORY)
    return bad(r, "target kind", "is regression of a category");
  e->target.type = (nn_col_type)type;
  e->target_kind = (nn_target_kind)kind;
  e->has_target = 1;
  if (kind == NN_TARGET_CLASSIFICATION) {
    if ((rc = r_dict(r, "classes", NN_ENCODE_MAX_CLASSES, NN_TABLE_MAX_CELL, 1, &e->classes)) != NN_OK)
      return rc;
    return e->classes.n > 0 ? NN_OK : bad(r, "classes", "are none");
  }
  e->target.n_parts = 1;
  if ((rc = r_f64(r, "target mean", &e->target.mean[0])) != NN_OK ||
      (rc = r_f64(r, "target scale", &e->target.scale[0])) != NN_OK)
    return rc;
  if (!isfinite(e->target.mean[0]) || !isfinite(e->target.scale[0]) || !(e->target.scale[0] > 0))
    return bad(r, "target scale", "or mean is not finite, or the scale not positive");
  return NN_OK;
}

int nn_encoder_load(const uint8_t *buf, size_t len, const uint8_t key[16], nn_encoder **out,
                    nn_error *err) {
  nn_encoder *e = NULL;
  reader r = {NULL, 0, err};
  uint32_t version, n_na, n_cols, width, has_target;
  int rc;
  *out = NULL;
  if (len < HEADER_BYTES + CRC_BYTES)
    return nn__fail(err, NN_EFORMAT, "", "encoding is truncated: %zu bytes is shorter than any "
                    "encoding", len);
  if (memcmp(buf, MAGIC, sizeof MAGIC) != 0)
    return nn__fail(err, NN_EFORMAT, "", "not a traind encoding (bad magic)");
  /* the version comes before the CRC: another version may seal differently */
  version = nn__le32(buf + sizeof MAGIC);
  if (version != NN_ENCODE_FORMAT_VERSION)
    return nn__fail(err, NN_EVERSION, "", "encoding format version %lu is not supported (this "
                    "build reads version %d)", (unsigned long)version, NN_ENCODE_FORMAT_VERSION);
  if (nn_crc32(0, buf, len - CRC_BYTES) != nn__le32(buf + len - CRC_BYTES))
    return nn__fail(err, NN_EFORMAT, "", "checksum mismatch: the encoding is corrupt");
  r.p = buf + HEADER_BYTES;
  r.left = len - CRC_BYTES - HEADER_BYTES;
  if ((e = nn__encoder_alloc(key)) == NULL) return nn__fail(err, NN_ENOMEM, "", "out of memory");
  if ((rc = r_u32(&r, "missing markers", &n_na)) != NN_OK) goto fail;
  if (n_na > NN_TABLE_MAX_NA) {
    rc = bad(&r, "missing markers", "are too many");
    goto fail;
  }
  if ((e->na = calloc((size_t)n_na + 1, sizeof *e->na)) == NULL) goto nomem;
  for (; e->n_na < (int)n_na; e->n_na++) {
    size_t nlen = 0;
    if ((rc = r_name(&r, "missing marker", &e->na[e->n_na], &nlen)) != NN_OK) goto fail;
    if (memchr(e->na[e->n_na], '\0', nlen) != NULL) {
      e->n_na++;
      rc = bad(&r, "missing marker", "holds a NUL byte");
      goto fail;
    }
  }
  if ((rc = r_u32(&r, "columns", &n_cols)) != NN_OK || (rc = r_u32(&r, "width", &width)) != NN_OK)
    goto fail;
  /* each column takes at least 32 bytes: the count is bounded by what follows */
  if (n_cols < 1 || n_cols > NN_TABLE_MAX_COLUMNS || n_cols > r.left / 32) {
    rc = bad(&r, "columns", "are out of range");
    goto fail;
  }
  if ((e->cols = calloc(n_cols, sizeof *e->cols)) == NULL) goto nomem;
  for (; e->n_cols < (int)n_cols; e->n_cols++) {
    nn__dict_init(&e->cols[e->n_cols].cats, e->key);
    if ((rc = r_column(&r, e, &e->cols[e->n_cols])) != NN_OK) {
      e->n_cols++;
      goto fail;
    }
  }
  if ((rc = nn__encoder_layout(e, err)) != NN_OK) {
    rc = NN_EFORMAT;
    goto fail;
  }
  if ((int)width != e->width) {
    rc = bad(&r, "width", "does not match the columns");
    goto fail;
  }
  if ((rc = r_u32(&r, "target flag", &has_target)) != NN_OK) goto fail;
  if (has_target > 1) {
    rc = bad(&r, "target flag", "must be 0 or 1");
    goto fail;
  }
  if (has_target && (rc = r_target(&r, e)) != NN_OK) goto fail;
  if (r.left != 0) {
    rc = nn__fail(err, NN_EFORMAT, "", "encoding has %zu unexpected bytes after its last section",
                  r.left);
    goto fail;
  }
  *out = e;
  return NN_OK;
nomem:
  rc = nn__fail(err, NN_ENOMEM, "", "out of memory");
fail:
  nn_encoder_free(e);
  return rc;
}
