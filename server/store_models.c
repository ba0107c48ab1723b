/* store_models.c — models and their weights versions (model_versions) in the
 * store: a model row holds its spec and the number of its newest version;
 * each published version is a row of its own, pruned to the newest few. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ---- models ------------------------------------------------------------------------ */

void store_model_clear(store_model *m) {
  free(m->name);
  free(m->spec);
  free(m->classes);
  memset(m, 0, sizeof *m);
}

void store_model_list_free(store_model *list, size_t n) {
  for (size_t i = 0; list != NULL && i < n; i++) store_model_clear(&list[i]);
  free(list);
}

static void clear_model(void *row) { store_model_clear(row); }

#define MODEL_COLS \
  "id, name, spec, parameters, version, trained, last_job, created_at, classes, " CLASS_COUNT_COL
/* Lists carry summaries: the count of the class names, not the names. */
#define MODEL_SUMMARY_COLS \
  "id, name, spec, parameters, version, trained, last_job, created_at, NULL, " CLASS_COUNT_COL
enum {
  MODEL_ID, MODEL_NAME, MODEL_SPEC, MODEL_PARAMETERS, MODEL_VERSION, MODEL_TRAINED,
  MODEL_LAST_JOB, MODEL_CREATED_AT, MODEL_CLASSES, MODEL_CLASS_COUNT,
  MODEL_NCOLS
};

/* A row of MODEL_COLS or MODEL_SUMMARY_COLS. */
static int read_model(sqlite3_stmt *s, void *row) {
  store_model *m = row;
  assert(sqlite3_column_count(s) == MODEL_NCOLS);
  memset(m, 0, sizeof *m);
  m->id = sqlite3_column_int64(s, MODEL_ID);
  m->parameters = sqlite3_column_int64(s, MODEL_PARAMETERS);
  m->version = sqlite3_column_int64(s, MODEL_VERSION);
  m->trained = sqlite3_column_int(s, MODEL_TRAINED) != 0;
  m->last_job = sqlite3_column_int64(s, MODEL_LAST_JOB); /* NULL reads as 0 */
  store__column_time(s, MODEL_CREATED_AT, m->created_at);
  m->n_classes = sqlite3_column_int64(s, MODEL_CLASS_COUNT);
  int status = store__column_text(s, MODEL_NAME, &m->name);
  if (status == STORE_OK) status = store__column_text(s, MODEL_SPEC, &m->spec);
  if (status == STORE_OK && sqlite3_column_type(s, MODEL_CLASSES) != SQLITE_NULL)
    status = store__column_text(s, MODEL_CLASSES, &m->classes);
  if (status != STORE_OK) store_model_clear(m);
  return status;
}

static const store__sql model_insert = {
    Q_MODEL_INSERT, "INSERT INTO models (name, spec, parameters, created_at)"
                    " VALUES (:name, :spec, :parameters, :created_at) RETURNING " MODEL_COLS};

int store_model_insert(store *st, const char *name, const char *spec, int64_t parameters,
                       store_model *out) {
  store_model tmp;
  store_model *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  if (name == NULL || spec == NULL || parameters <= 0) return STORE_EINVAL;
  char created[STORE_TIME_LEN];
  store__now(created);
  store__query q = store__prepare(st, &model_insert);
  store__bind_text(&q, ":name", name);
  store__bind_text(&q, ":spec", spec);
  store__bind_int64(&q, ":parameters", parameters);
  store__bind_text(&q, ":created_at", created);
  if (q.status != STORE_OK) {
    store__done(&q);
    return q.status;
  }
  store__write_lock(st);
  int status = store__run_one(&q, read_model, clear_model, row);
  store__write_unlock(st);
  if (out == NULL && status == STORE_OK) store_model_clear(&tmp);
  return status;
}

static const store__sql model_import = {
    Q_MODEL_IMPORT,
    "INSERT INTO models (name, spec, parameters, version, trained, classes, created_at)"
    " VALUES (:name, :spec, :parameters, :version, 1, :classes, :created_at)"
    " RETURNING " MODEL_COLS};
static const store__sql version_import = {
    Q_VERSION_IMPORT,
    "INSERT INTO model_versions (model_id, version, weights, classes, published_at, encoding)"
    " VALUES (:model_id, :version, :weights, :classes, :published_at, :encoding)"};

int store_model_import(store *st, const char *name, const char *spec, int64_t parameters,
                       int64_t version, const uint8_t *weights, size_t len,
                       const char *classes, const uint8_t *encoding, size_t encoding_len,
                       store_model *out) {
  store_model tmp;
  store_model *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  if (name == NULL || spec == NULL || parameters <= 0 || version < 1 || weights == NULL)
    return STORE_EINVAL;
  char now[STORE_TIME_LEN];
  store__now(now);
  int status = store__begin(st, Q_BEGIN_WRITE);
  if (status != STORE_OK) return status;
  store__query q = store__prepare(st, &model_import);
  store__bind_text(&q, ":name", name);
  store__bind_text(&q, ":spec", spec);
  store__bind_int64(&q, ":parameters", parameters);
  store__bind_int64(&q, ":version", version);
  store__bind_text(&q, ":classes", classes);
  store__bind_text(&q, ":created_at", now);
  status = store__run_one(&q, read_model, clear_model, row);
  if (status == STORE_OK) {
    q = store__prepare(st, &version_import);
    store__bind_int64(&q, ":model_id", row->id);
    store__bind_int64(&q, ":version", version);
    store__bind_blob(&q, ":weights", weights, len);
    store__bind_text(&q, ":classes", classes);
    store__bind_text(&q, ":published_at", now);
    if (encoding != NULL) store__bind_blob(&q, ":encoding", encoding, encoding_len);
    status = store__run(&q);
  }
  status = store__end(st, status);
  if (status != STORE_OK || out == NULL) store_model_clear(row);
  return status;
}

static const store__sql model_get = {Q_MODEL_GET,
                                     "SELECT " MODEL_COLS " FROM models WHERE id = :id"};

int store_model_get(store *st, int64_t id, store_model *out) {
  memset(out, 0, sizeof *out);
  store__query q = store__prepare(st, &model_get);
  store__bind_int64(&q, ":id", id);
  return store__run_one(&q, read_model, clear_model, out);
}

static const store__sql model_by_name = {
    Q_MODEL_BY_NAME,
    "SELECT " MODEL_COLS " FROM models WHERE name = :name ORDER BY id DESC LIMIT 1"};

int store_model_find(store *st, const char *name, store_model *out) {
  memset(out, 0, sizeof *out);
  store__query q = store__prepare(st, &model_by_name);
  store__bind_text(&q, ":name", name);
  return store__run_one(&q, read_model, clear_model, out);
}

static const store__sql model_list = {Q_MODEL_LIST,
                                      "SELECT " MODEL_SUMMARY_COLS " FROM models ORDER BY id"};

int store_model_list(store *st, store_model **out, size_t *n) {
  void *rows;
  store__query q = store__prepare(st, &model_list);
  int status = store__run_list(&q, sizeof **out, read_model, clear_model, &rows, n);
  *out = rows;
  return status;
}

static const store__sql model_in_use = {
    Q_MODEL_IN_USE,
    "SELECT EXISTS (SELECT 1 FROM jobs WHERE model_id = :id AND state IN " JOB_ACTIVE ")"};
static const store__sql model_delete = {Q_MODEL_DELETE, "DELETE FROM models WHERE id = :id"};

int store_model_delete(store *st, int64_t id) {
  return store__delete_unused(st, &model_in_use, &model_delete, id);
}

/* ---- weights versions ---------------------------------------------------------------- */

void store_weights_clear(store_weights *w) {
  free(w->buf);
  free(w->classes);
  free(w->encoding);
  memset(w, 0, sizeof *w);
}

static void clear_weights(void *row) { store_weights_clear(row); }

/* The columns of both weights statements; NULL weights: never trained (or
 * that version is no longer kept). */
enum { WEIGHTS_BUF, WEIGHTS_VERSION, WEIGHTS_CLASSES, WEIGHTS_NEWEST, WEIGHTS_ENCODING,
       WEIGHTS_NCOLS };

static int read_weights(sqlite3_stmt *s, void *row) {
  store_weights *w = row;
  assert(sqlite3_column_count(s) == WEIGHTS_NCOLS);
  void *buf = NULL;
  w->version = sqlite3_column_int64(s, WEIGHTS_VERSION);
  w->newest = sqlite3_column_int64(s, WEIGHTS_NEWEST);
  int status = sqlite3_column_type(s, WEIGHTS_BUF) == SQLITE_NULL
                   ? STORE_OK
                   : store__column_blob(s, WEIGHTS_BUF, 0, &buf, &w->len);
  w->buf = buf;
  if (status == STORE_OK) status = store__column_text(s, WEIGHTS_CLASSES, &w->classes);
  if (status == STORE_OK && sqlite3_column_type(s, WEIGHTS_ENCODING) != SQLITE_NULL) {
    status = store__column_blob(s, WEIGHTS_ENCODING, 0, &buf, &w->encoding_len);
    w->encoding = buf;
  }
  return status;
}

/* The newest weights: the model row answers for a model never trained. */
static const store__sql model_weights = {
    Q_MODEL_WEIGHTS,
    "SELECT v.weights, m.version, v.classes, m.version, v.encoding FROM models m"
    " LEFT JOIN model_versions v ON v.model_id = m.id AND v.version = m.version"
    " WHERE m.id = :id"};
/* A version not kept reads as NULL weights; only a missing model is no row. */
static const store__sql model_weights_at = {
    Q_MODEL_WEIGHTS_AT,
    "SELECT v.weights, :version, v.classes, m.version, v.encoding FROM models m"
    " LEFT JOIN model_versions v ON v.model_id = m.id AND v.version = :version"
    " WHERE m.id = :id"};

int store_model_weights(store *st, int64_t id, int64_t version, store_weights *out) {
  memset(out, 0, sizeof *out);
  if (version < 0) return STORE_EINVAL;
  store__query q = store__prepare(st, version == 0 ? &model_weights : &model_weights_at);
  store__bind_int64(&q, ":id", id);
  if (version != 0) store__bind_int64(&q, ":version", version);
  return store__run_one(&q, read_weights, clear_weights, out);
}

static const store__sql model_version = {Q_MODEL_VERSION,
                                         "SELECT version FROM models WHERE id = :id"};

int store__model_version(store *st, int64_t id, int64_t *version) {
  store__query q = store__prepare(st, &model_version);
  store__bind_int64(&q, ":id", id);
  return store__run_one(&q, store__read_int64, NULL, version);
}

static const store__sql model_publish = {
    Q_MODEL_PUBLISH, "UPDATE models SET version = version + 1, trained = 1, last_job = :job_id,"
                     " classes = :classes WHERE id = :id RETURNING version"};
static const store__sql version_insert = {
    Q_VERSION_INSERT,
    "INSERT INTO model_versions (model_id, version, job_id, epoch, weights, classes, published_at,"
    " encoding)"
    " VALUES (:model_id, :version, :job_id, :epoch, :weights, :classes, :published_at,"
    " :encoding)"};
/* Past the newest :kept (:newest is the newest version), only each job's
 * last version stays. */
static const store__sql version_prune = {
    Q_VERSION_PRUNE,
    "DELETE FROM model_versions WHERE model_id = :model_id AND version <= :newest - :kept"
    " AND version NOT IN (SELECT max(version) FROM model_versions"
    " WHERE model_id = :model_id GROUP BY job_id)"};

int store__model_publish(store *st, const store_epoch *e, int64_t model_id, int64_t *version) {
  assert(st->writing && e->checkpoint != NULL);
  store__query q = store__prepare(st, &model_publish);
  store__bind_int64(&q, ":id", model_id);
  store__bind_int64(&q, ":job_id", e->job_id);
  store__bind_text(&q, ":classes", e->classes);
  int status = store__run_one(&q, store__read_int64, NULL, version);
  if (status != STORE_OK) return status;

  char now[STORE_TIME_LEN];
  store__now(now);
  q = store__prepare(st, &version_insert);
  store__bind_int64(&q, ":model_id", model_id);
  store__bind_int64(&q, ":version", *version);
  store__bind_int64(&q, ":job_id", e->job_id);
  store__bind_int64(&q, ":epoch", e->metric.epoch);
  store__bind_text(&q, ":classes", e->classes);
  store__bind_text(&q, ":published_at", now);
  if (e->encoding != NULL) store__bind_blob(&q, ":encoding", e->encoding, e->encoding_len);
  if (e->weights != NULL)
    store__bind_blob(&q, ":weights", e->weights, e->weights_len);
  else
    store__bind_blob(&q, ":weights", e->checkpoint, e->checkpoint_len);
  if ((status = store__run(&q)) != STORE_OK) return status;

  q = store__prepare(st, &version_prune);
  store__bind_int64(&q, ":model_id", model_id);
  store__bind_int64(&q, ":newest", *version);
  store__bind_int64(&q, ":kept", e->versions_kept > 0 ? e->versions_kept : STORE_VERSIONS_KEPT);
  return store__run(&q);
}

/* (version, job_id, epoch, bytes, published_at); NULL reads as 0 or "". */
static const store__sql version_list = {
    Q_VERSION_LIST, "SELECT version, job_id, epoch, length(weights), published_at"
                    " FROM model_versions WHERE model_id = :model_id ORDER BY version DESC"};
enum { VERSION_VERSION, VERSION_JOB_ID, VERSION_EPOCH, VERSION_BYTES, VERSION_PUBLISHED_AT };

static int read_version(sqlite3_stmt *s, void *row) {
  store_model_version *v = row;
  v->version = sqlite3_column_int64(s, VERSION_VERSION);
  v->job_id = sqlite3_column_int64(s, VERSION_JOB_ID);
  v->epoch = sqlite3_column_int64(s, VERSION_EPOCH);
  v->bytes = sqlite3_column_int64(s, VERSION_BYTES);
  store__column_time(s, VERSION_PUBLISHED_AT, v->published_at);
  return STORE_OK;
}

int store_model_versions(store *st, int64_t id, store_model_version **out, size_t *n) {
  int64_t newest = 0;
  void *rows = NULL;
  *out = NULL;
  *n = 0;
  /* one read transaction: the model cannot go between the two statements */
  int status = store__begin(st, Q_BEGIN_READ);
  if (status != STORE_OK) return status;
  status = store__model_version(st, id, &newest);
  if (status == STORE_OK) {
    store__query q = store__prepare(st, &version_list);
    store__bind_int64(&q, ":model_id", id);
    status = store__run_list(&q, sizeof **out, read_version, NULL, &rows, n);
  }
  status = store__end(st, status);
  if (status != STORE_OK) {
    free(rows);
    *n = 0;
    return status;
  }
  *out = rows;
  return STORE_OK;
}
