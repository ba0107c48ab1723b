/* store_models.c — models and their weights versions in the store. */
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

static int read_model(sqlite3_stmt *s, void *row) {
  store_model *m = row;
  memset(m, 0, sizeof *m);
  m->id = sqlite3_column_int64(s, 0);
  m->parameters = sqlite3_column_int64(s, 3);
  m->version = sqlite3_column_int64(s, 4);
  m->trained = sqlite3_column_int(s, 5) != 0;
  m->last_job = sqlite3_column_int64(s, 6); /* NULL reads as 0 */
  store__column_time(s, 7, m->created_at);
  m->n_classes = sqlite3_column_int64(s, 9); /* NULL reads as 0 */
  int status = store__column_text(s, 1, &m->name);
  if (status == STORE_OK) status = store__column_text(s, 2, &m->spec);
  if (status == STORE_OK && sqlite3_column_type(s, 8) != SQLITE_NULL)
    status = store__column_text(s, 8, &m->classes);
  if (status != STORE_OK) store_model_clear(m);
  return status;
}

int store_model_insert(store *st, const char *name, const char *spec, int64_t parameters,
                       store_model *out) {
  store_model tmp;
  store_model *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  if (name == NULL || spec == NULL || parameters <= 0) return STORE_EINVAL;
  char created[STORE_TIME_LEN];
  store__now(created);
  sqlite3_stmt *s = st->stmt[Q_MODEL_INSERT];
  int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK) rc = sqlite3_bind_text(s, 2, spec, -1, SQLITE_STATIC);
  sqlite3_bind_int64(s, 3, parameters);
  sqlite3_bind_text(s, 4, created, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK) {
    store__done(s);
    return store__status_of(rc);
  }
  store__write_lock(st);
  int status = store__run_one(s, read_model, clear_model, row);
  store__write_unlock(st);
  if (out == NULL && status == STORE_OK) store_model_clear(&tmp);
  return status;
}

int store_model_get(store *st, int64_t id, store_model *out) {
  memset(out, 0, sizeof *out);
  sqlite3_bind_int64(st->stmt[Q_MODEL_GET], 1, id);
  return store__run_one(st->stmt[Q_MODEL_GET], read_model, clear_model, out);
}

int store_model_find(store *st, const char *name, store_model *out) {
  memset(out, 0, sizeof *out);
  sqlite3_bind_text(st->stmt[Q_MODEL_BY_NAME], 1, name, -1, SQLITE_STATIC);
  return store__run_one(st->stmt[Q_MODEL_BY_NAME], read_model, clear_model, out);
}

int store_model_list(store *st, store_model **out, size_t *n) {
  void *rows;
  int status =
      store__run_list(st->stmt[Q_MODEL_LIST], sizeof **out, read_model, clear_model, &rows, n);
  *out = rows;
  return status;
}

int store_model_delete(store *st, int64_t id) {
  return store__delete_unused(st, Q_MODEL_IN_USE, Q_MODEL_DELETE, id);
}

void store_weights_clear(store_weights *w) {
  free(w->buf);
  free(w->classes);
  memset(w, 0, sizeof *w);
}

static void clear_weights(void *row) { store_weights_clear(row); }

/* (weights, version, classes, newest); NULL weights: never trained. */
static int read_weights(sqlite3_stmt *s, void *row) {
  store_weights *w = row;
  void *buf = NULL;
  w->version = sqlite3_column_int64(s, 1);
  w->newest = sqlite3_column_int64(s, 3);
  int status = sqlite3_column_type(s, 0) == SQLITE_NULL
                   ? STORE_OK
                   : store__column_blob(s, 0, 0, &buf, &w->len);
  w->buf = buf;
  if (status == STORE_OK) status = store__column_text(s, 2, &w->classes);
  return status;
}

int store_model_weights(store *st, int64_t id, int64_t version, store_weights *out) {
  memset(out, 0, sizeof *out);
  if (version < 0) return STORE_EINVAL;
  sqlite3_stmt *s = st->stmt[version == 0 ? Q_MODEL_WEIGHTS : Q_MODEL_WEIGHTS_AT];
  sqlite3_bind_int64(s, 1, id);
  if (version != 0) sqlite3_bind_int64(s, 2, version);
  return store__run_one(s, read_weights, clear_weights, out);
}

/* (version, job_id, epoch, bytes, published_at); NULL reads as 0 or "". */
static int read_version(sqlite3_stmt *s, void *row) {
  store_model_version *v = row;
  v->version = sqlite3_column_int64(s, 0);
  v->job_id = sqlite3_column_int64(s, 1);
  v->epoch = sqlite3_column_int64(s, 2);
  v->bytes = sqlite3_column_int64(s, 3);
  store__column_time(s, 4, v->published_at);
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
  sqlite3_bind_int64(st->stmt[Q_MODEL_VERSION], 1, id);
  status = store__run_one(st->stmt[Q_MODEL_VERSION], store__read_int64, NULL, &newest);
  if (status == STORE_OK) {
    sqlite3_bind_int64(st->stmt[Q_VERSION_LIST], 1, id);
    status = store__run_list(st->stmt[Q_VERSION_LIST], sizeof **out, read_version, NULL, &rows, n);
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
