/*
 * model_file.c — the model file (model_file.h): a core checkpoint with the
 * model's name, weights version and class names, and a table model's
 * encoding, in the little-endian, field-by-field manner of core/checkpoint.c
 * (docs/checkpoint-format.md).
 *
 * Reading trusts nothing: the checks run in the documented order (length,
 * magic, version, CRC, then each field against the bytes that remain before
 * anything is allocated for it), and the checkpoint inside is checked by
 * core's own loader, whose message (naming the spec field that does not
 * validate) is passed on; the encoding likewise by nn_encoder_load, then
 * against the model it came with (its width is the model's inputs, its
 * target the model's task).
 */
#include "model_file.h"

#include "../core/encode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t MAGIC[8] = {'T', 'R', 'A', 'I', 'N', 'D', 'M', 'F'};
static const uint8_t CKPT_MAGIC[8] = {'T', 'R', 'A', 'I', 'N', 'D', 'C', 'K'};

#define HEADER_BYTES 12 /* magic, u32 version */
#define CRC_BYTES 4
#define MAX_CLASSES_TEXT (16u << 20) /* bytes of the class names' JSON */

static uint8_t *put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
  return p + 4;
}

static uint8_t *put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
  return p + 8;
}

static uint32_t le32(const uint8_t *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64(const uint8_t *b) { return le32(b) | (uint64_t)le32(b + 4) << 32; }

int model_file_write(const char *name, int64_t version, const char *classes,
                     const uint8_t *ckpt, size_t ckpt_len, const uint8_t *encoding,
                     size_t encoding_len, uint8_t **out, size_t *out_len, api_error *err) {
  size_t name_len = strlen(name), classes_len = classes != NULL ? strlen(classes) : 0;
  *out = NULL;
  *out_len = 0;
  if (name_len > PARSE_NAME_MAX || classes_len > MAX_CLASSES_TEXT || version < 1)
    return api_fail(err, API_INTERNAL, NULL, "the stored model cannot be written as a file");
  if (encoding == NULL) encoding_len = 0;
  /* name, classes, checkpoint and encoding are already in memory: no overflow */
  size_t total = HEADER_BYTES + 8 + 4 + name_len + 4 + classes_len + 8 + ckpt_len + 8 +
                 encoding_len + CRC_BYTES;
  uint8_t *buf = malloc(total), *p;
  if (buf == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  memcpy(buf, MAGIC, sizeof MAGIC);
  p = put_u32(buf + sizeof MAGIC, MODEL_FILE_VERSION);
  p = put_u64(p, (uint64_t)version);
  p = put_u32(p, (uint32_t)name_len);
  memcpy(p, name, name_len);
  p = put_u32(p + name_len, (uint32_t)classes_len);
  if (classes_len > 0) memcpy(p, classes, classes_len);
  p = put_u64(p + classes_len, ckpt_len);
  memcpy(p, ckpt, ckpt_len);
  p = put_u64(p + ckpt_len, encoding_len);
  if (encoding_len > 0) memcpy(p, encoding, encoding_len);
  p += encoding_len;
  put_u32(p, nn_crc32(0, buf, (size_t)(p - buf)));
  *out = buf;
  *out_len = total;
  return 0;
}

/* ---- reading ------------------------------------------------------------------ */

typedef struct {
  const uint8_t *p;
  size_t left; /* bytes before the CRC */
  api_error *err;
} reader;

/* n bytes, or NULL (err filled) when fewer remain. */
static const uint8_t *take(reader *r, uint64_t n, const char *what) {
  const uint8_t *b = r->p;
  if (n > r->left) {
    api_fail(r->err, API_INVALID_ARGUMENT, "body",
             "model file is truncated: %s does not fit in the %zu bytes that remain", what,
             r->left);
    return NULL;
  }
  r->p += n;
  r->left -= (size_t)n;
  return b;
}

/* Class names: a JSON array of strings, one per output unit (or two for one
 * sigmoid unit), and only for a classifier. */
static int check_classes(const char *text, const nn_spec *spec, api_error *err) {
  cJSON *arr = cJSON_Parse(text);
  int n = cJSON_GetArraySize(arr), outputs = nn_spec_outputs(spec), rc = 0;
  const cJSON *c;
  if (!cJSON_IsArray(arr)) {
    rc = api_fail(err, API_INVALID_ARGUMENT, "classes",
                  "model file's class names are not a JSON array");
    goto out;
  }
  cJSON_ArrayForEach(c, arr) if (!cJSON_IsString(c)) {
    rc = api_fail(err, API_INVALID_ARGUMENT, "classes",
                  "model file's class names must all be strings");
    goto out;
  }
  if (spec->loss == NN_LOSS_MSE ||
      !(n == outputs || (spec->loss == NN_LOSS_BCE && outputs == 1 && n == 2)))
    rc = api_fail(err, API_INVALID_ARGUMENT, "classes",
                  "model file has %d class names for a model of %d outputs and loss %s", n,
                  outputs, nn_name(NN_NAMES_LOSS, spec->loss));
out:
  cJSON_Delete(arr);
  return rc;
}

/* The checkpoint inside, or a bare one: loaded by core, saved again as
 * traind stores weights (a weights-only checkpoint in NN_FORMAT_VERSION). */
static int read_checkpoint(const uint8_t *b, size_t n, model_file *f, api_error *err) {
  nn_error ne = {{0}, {0}};
  int rc = nn_checkpoint_load(b, n, &f->model, NULL, &ne);
  if (rc == NN_ENOMEM) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  if (rc != NN_OK)
    return api_fail(err, API_INVALID_ARGUMENT, ne.field[0] != '\0' ? ne.field : "body",
                    "model file's checkpoint: %s", ne.message);
  if (nn_checkpoint_save(f->model, NULL, &f->ckpt, &f->ckpt_len) != NN_OK)
    return api_fail(err, API_INTERNAL, NULL, "out of memory");
  return 0;
}

/* The encoding: readable by core (its own checks, passed on), and the
 * model's own: as wide as its inputs, and a classifier's exactly when the
 * model has class names. Loaded to be checked, then dropped: the bytes are
 * what is stored (saving a loaded encoding gives them back), and the key
 * is never used, as nothing is looked up. */
static int check_encoding(const model_file *f, api_error *err) {
  static const uint8_t unused_key[16];
  nn_encoder *e = NULL;
  nn_error ne = {{0}, {0}};
  nn_target_kind kind = NN_TARGET_AUTO;
  const nn_spec *spec = nn_model_spec(f->model);
  int rc = nn_encoder_load(f->encoding, f->encoding_len, unused_key, &e, &ne);
  if (rc == NN_ENOMEM) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  if (rc != NN_OK)
    return api_fail(err, API_INVALID_ARGUMENT, "encoding", "model file's encoding: %s",
                    ne.message);
  int width = nn_encoder_width(e), classes = 0;
  const char *target = nn_encoder_target(e, &kind, NULL, NULL, &classes);
  if (width != spec->inputs) {
    rc = api_fail(err, API_INVALID_ARGUMENT, "encoding",
                  "model file's encoding makes %d inputs but its model takes %d", width,
                  spec->inputs);
  } else if (target != NULL && (kind == NN_TARGET_CLASSIFICATION) != (f->classes != NULL)) {
    rc = api_fail(err, API_INVALID_ARGUMENT, "encoding",
                  "model file's encoding is for a %s of %s but the model %s class names",
                  kind == NN_TARGET_CLASSIFICATION ? "classification" : "regression", target,
                  f->classes != NULL ? "has" : "has no");
  }
  nn_encoder_free(e);
  return rc;
}

static int read_wrapped(const uint8_t *buf, size_t len, uint32_t format, model_file *f,
                        api_error *err) {
  reader r = {buf + HEADER_BYTES, len - HEADER_BYTES - CRC_BYTES, err};
  const uint8_t *b;
  uint64_t n;
  int rc;
  if ((b = take(&r, 8, "version")) == NULL) return -API_INVALID_ARGUMENT;
  n = le64(b);
  if (n < 1 || n > (uint64_t)PARSE_MAX_SAFE_INT)
    return api_fail(err, API_INVALID_ARGUMENT, "version",
                    "model file's weights version %llu is not 1 to 2^53", (unsigned long long)n);
  f->version = (int64_t)n;
  if ((b = take(&r, 4, "name length")) == NULL) return -API_INVALID_ARGUMENT;
  n = le32(b);
  if (n > PARSE_NAME_MAX)
    return api_fail(err, API_INVALID_ARGUMENT, "name",
                    "model file's name is %llu bytes, more than %d", (unsigned long long)n,
                    PARSE_NAME_MAX);
  if ((b = take(&r, n, "name")) == NULL) return -API_INVALID_ARGUMENT;
  memcpy(f->name, b, (size_t)n);
  f->name[n] = '\0';
  if (memchr(f->name, '\0', (size_t)n) != NULL || parse_check_name(f->name, "name", err) != 0)
    return api_fail(err, API_INVALID_ARGUMENT, "name",
                    "model file's name must be 1 to %d characters of A-Z a-z 0-9 . _ -",
                    PARSE_NAME_MAX);
  if ((b = take(&r, 4, "classes length")) == NULL) return -API_INVALID_ARGUMENT;
  n = le32(b);
  if ((b = take(&r, n, "classes")) == NULL) return -API_INVALID_ARGUMENT;
  if (n > 0) {
    if ((f->classes = malloc((size_t)n + 1)) == NULL)
      return api_fail(err, API_INTERNAL, NULL, "out of memory");
    memcpy(f->classes, b, (size_t)n);
    f->classes[n] = '\0';
    if (strlen(f->classes) != n)
      return api_fail(err, API_INVALID_ARGUMENT, "classes",
                      "model file's class names hold a NUL byte");
  }
  if ((b = take(&r, 8, "checkpoint length")) == NULL) return -API_INVALID_ARGUMENT;
  n = le64(b);
  const uint8_t *ckpt = take(&r, n, "checkpoint");
  size_t ckpt_len = (size_t)n;
  if (ckpt == NULL) return -API_INVALID_ARGUMENT;
  if (format >= 2) { /* the encoding section; empty for a model trained on numbers */
    if ((b = take(&r, 8, "encoding length")) == NULL) return -API_INVALID_ARGUMENT;
    n = le64(b);
    if ((b = take(&r, n, "encoding")) == NULL) return -API_INVALID_ARGUMENT;
    if (n > 0) {
      if ((f->encoding = malloc((size_t)n)) == NULL)
        return api_fail(err, API_INTERNAL, NULL, "out of memory");
      memcpy(f->encoding, b, (size_t)n);
      f->encoding_len = (size_t)n;
    }
  }
  if (r.left != 0)
    return api_fail(err, API_INVALID_ARGUMENT, "body",
                    "model file has %zu unexpected bytes after its last section", r.left);
  if ((rc = read_checkpoint(ckpt, ckpt_len, f, err)) != 0) return rc;
  if (f->classes != NULL && (rc = check_classes(f->classes, nn_model_spec(f->model), err)) != 0)
    return rc;
  return f->encoding != NULL ? check_encoding(f, err) : 0;
}

/* The length a file's own size fields add up to (through the CRC), read as
 * far as len allows: a shorter file is truncated, whatever its CRC says.
 * Saturates instead of overflowing, so a crafted size reads as too long.
 * Sections: name, classes, checkpoint and (format 2) encoding. */
static uint64_t sections_bytes(const uint8_t *buf, size_t len, uint32_t format) {
  /* the size field after each section (the next one's length, or the CRC) */
  static const uint8_t after[2][4] = {{4, 8, CRC_BYTES, 0}, {4, 8, 8, CRC_BYTES}};
  int sections = format >= 2 ? 4 : 3;
  uint64_t need = HEADER_BYTES + 8 + 4; /* header, version, name length */
  for (int i = 0; i < sections; i++) {
    if (need > len) return need;
    uint64_t n = i < 2 ? le32(buf + need - 4) : le64(buf + need - 8);
    if (n > UINT64_MAX - need - after[format >= 2][i]) return UINT64_MAX;
    need += n + after[format >= 2][i];
  }
  return need;
}

int model_file_read(const uint8_t *buf, size_t len, model_file *f, api_error *err) {
  int rc;
  memset(f, 0, sizeof *f);
  if (len >= sizeof CKPT_MAGIC && memcmp(buf, CKPT_MAGIC, sizeof CKPT_MAGIC) == 0) {
    /* a bare checkpoint: core checks its length, version and CRC */
    snprintf(f->name, sizeof f->name, "imported");
    f->version = 1;
    rc = read_checkpoint(buf, len, f, err);
    goto out;
  }
  if (len < HEADER_BYTES + CRC_BYTES) {
    rc = api_fail(err, API_INVALID_ARGUMENT, "body",
                  "model file is truncated: %zu bytes is shorter than any model file", len);
    goto out;
  }
  if (memcmp(buf, MAGIC, sizeof MAGIC) != 0) {
    rc = api_fail(err, API_INVALID_ARGUMENT, "body",
                  "not a traind model file or checkpoint (bad magic)");
    goto out;
  }
  uint32_t version = le32(buf + sizeof MAGIC);
  if (version < 1 || version > MODEL_FILE_VERSION) {
    rc = api_fail(err, API_INVALID_ARGUMENT, "body",
                  "model file format version %lu is not supported (this build reads versions "
                  "1 to %d)", (unsigned long)version, MODEL_FILE_VERSION);
    goto out;
  }
  uint64_t need = sections_bytes(buf, len, version);
  if (need != len) {
    rc = need > len ? api_fail(err, API_INVALID_ARGUMENT, "body",
                               "model file is truncated: its sections need %llu bytes but it "
                               "has %zu", (unsigned long long)need, len)
                    : api_fail(err, API_INVALID_ARGUMENT, "body",
                               "model file has %llu unexpected bytes after its last section",
                               (unsigned long long)(len - need));
    goto out;
  }
  if (nn_crc32(0, buf, len - CRC_BYTES) != le32(buf + len - CRC_BYTES)) {
    rc = api_fail(err, API_INVALID_ARGUMENT, "body",
                  "checksum mismatch: the model file is corrupt");
    goto out;
  }
  rc = read_wrapped(buf, len, version, f, err);
out:
  if (rc != 0) model_file_clear(f);
  return rc;
}

void model_file_clear(model_file *f) {
  free(f->classes);
  nn_model_free(f->model);
  free(f->ckpt);
  free(f->encoding);
  memset(f, 0, sizeof *f);
}
