/* store_datasets.c — datasets in the store: one row each, written once with
 * all its numbers (a typed table's stored form in 1 MiB rows of
 * dataset_pieces beside it); the arrays are read back by incremental blob
 * I/O, a table's pieces whole. */
#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ---- datasets -------------------------------------------------------------------- */

void store_dataset_clear(store_dataset *d) {
  free(d->name);
  free(d->classes);
  free(d->target);
  free(d->columns);
  memset(d, 0, sizeof *d);
}

void store_dataset_data_clear(store_dataset_data *d) {
  free(d->x);
  free(d->y);
  free(d->labels);
  free(d->table);
  memset(d, 0, sizeof *d);
}

void store_dataset_list_free(store_dataset *list, size_t n) {
  for (size_t i = 0; list != NULL && i < n; i++) store_dataset_clear(&list[i]);
  free(list);
}

static void clear_dataset(void *row) { store_dataset_clear(row); }

#define DATASET_COLS \
  "id, name, rows, features, outputs, task, classes, created_at, " CLASS_COUNT_COL \
  ", kind, target, rows_without_target, columns"
/* Lists carry summaries: the count of the class names, not the names; a
 * table's kind, target and rows without one, not its columns' profile. */
#define DATASET_SUMMARY_COLS \
  "id, name, rows, features, outputs, task, NULL, created_at, " CLASS_COUNT_COL \
  ", kind, target, rows_without_target, NULL"
enum {
  DATASET_ID, DATASET_NAME, DATASET_ROWS, DATASET_FEATURES, DATASET_OUTPUTS, DATASET_TASK,
  DATASET_CLASSES, DATASET_CREATED_AT, DATASET_CLASS_COUNT, DATASET_KIND, DATASET_TARGET,
  DATASET_WITHOUT_TARGET, DATASET_COLUMNS,
  DATASET_NCOLS
};

/* A row of DATASET_COLS or DATASET_SUMMARY_COLS. */
static int read_dataset(sqlite3_stmt *s, void *row) {
  store_dataset *d = row;
  assert(sqlite3_column_count(s) == DATASET_NCOLS);
  memset(d, 0, sizeof *d);
  d->id = sqlite3_column_int64(s, DATASET_ID);
  d->rows = sqlite3_column_int64(s, DATASET_ROWS);
  d->features = sqlite3_column_int64(s, DATASET_FEATURES);
  d->outputs = sqlite3_column_int64(s, DATASET_OUTPUTS);
  const char *task = (const char *)sqlite3_column_text(s, DATASET_TASK);
  if (task != NULL && strcmp(task, store__task_names[STORE_TASK_CLASSIFICATION]) == 0)
    d->task = STORE_TASK_CLASSIFICATION;
  else if (task != NULL && strcmp(task, store__task_names[STORE_TASK_REGRESSION]) == 0)
    d->task = STORE_TASK_REGRESSION;
  else
    return STORE_EIO; /* the schema's CHECK allows no other */
  store__column_time(s, DATASET_CREATED_AT, d->created_at);
  d->n_classes = sqlite3_column_int64(s, DATASET_CLASS_COUNT);
  const char *kind = (const char *)sqlite3_column_text(s, DATASET_KIND);
  d->table = kind != NULL && strcmp(kind, "table") == 0;
  d->rows_without_target = sqlite3_column_int64(s, DATASET_WITHOUT_TARGET);
  int status = store__column_text(s, DATASET_NAME, &d->name);
  if (status == STORE_OK) status = store__column_text(s, DATASET_CLASSES, &d->classes);
  if (status == STORE_OK) status = store__column_text(s, DATASET_TARGET, &d->target);
  if (status == STORE_OK) status = store__column_text(s, DATASET_COLUMNS, &d->columns);
  if (status != STORE_OK) store_dataset_clear(d);
  return status;
}

/* Bytes of a (rows, cols) array of 4-byte numbers, or 0 when out of range. */
static size_t array_bytes(int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0 || (uint64_t)rows > SIZE_MAX / 4 / (uint64_t)cols) return 0;
  return (size_t)rows * (size_t)cols * 4;
}

static int check_dataset(const store_dataset *m, const store_dataset_data *d) {
  int regression = m->task == STORE_TASK_REGRESSION;
  if (m->name == NULL || store_task_name(m->task) == NULL) return STORE_EINVAL;
  if (m->table) /* its cells were checked by nn_table_builder_finish */
    return (d->table == NULL) == (d->write_table == NULL) || d->table_len == 0 ||
                   m->target == NULL || m->columns == NULL || m->rows <= 0 || m->features <= 0 ||
                   m->outputs <= 0 ||
                   m->rows_without_target < 0 || m->rows_without_target >= m->rows ||
                   d->x != NULL
               ? STORE_EINVAL
               : STORE_OK;
  if (d->x == NULL || d->table != NULL || d->write_table != NULL) return STORE_EINVAL;
  if (array_bytes(m->rows, m->features) == 0 || array_bytes(m->rows, m->outputs) == 0)
    return STORE_EINVAL;
  if (regression ? d->y == NULL || d->labels != NULL || m->classes != NULL
                 : d->labels == NULL || d->y != NULL)
    return STORE_EINVAL;
  /* Guard the trainer: a label indexes the output row. */
  for (int64_t i = 0; !regression && i < m->rows; i++)
    if (d->labels[i] < 0 || d->labels[i] >= m->outputs) return STORE_EINVAL;
  return STORE_OK;
}

static const store__sql dataset_insert = {
    Q_DATASET_INSERT,
    "INSERT INTO datasets (name, rows, features, outputs, task, classes, x, y, labels, created_at,"
    " kind, target, rows_without_target, columns, data)"
    " VALUES (:name, :rows, :features, :outputs, :task, :classes, :x, :y, :labels, :created_at,"
    " :kind, :target, :rows_without_target, :columns, :data)"
    " RETURNING " DATASET_COLS};

/* A table's stored form goes in as rows of dataset_pieces, PIECE_BYTES at
 * most each, staged here: SQLite copies a value into its record, so the
 * memory an insert takes beyond the caller's table is one piece. */
#define PIECE_BYTES ((size_t)1 << 20)

static const store__sql piece_insert = {
    Q_DATASET_PIECE_INSERT,
    "INSERT INTO dataset_pieces (dataset_id, piece, bytes) VALUES (:dataset_id, :piece, :bytes)"};

typedef struct {
  store *st;
  int64_t id, piece;
  uint8_t *buf;   /* (PIECE_BYTES,) */
  size_t len;     /* staged in buf */
  size_t total;   /* bytes put so far */
  int status;
} piece_writer;

static void flush_piece(piece_writer *w) {
  if (w->status != STORE_OK || w->len == 0) return;
  store__query q = store__prepare(w->st, &piece_insert);
  store__bind_int64(&q, ":dataset_id", w->id);
  store__bind_int64(&q, ":piece", w->piece++);
  store__bind_blob(&q, ":bytes", w->buf, w->len);
  w->status = store__run(&q);
  w->len = 0;
}

static int put_piece(void *ctx, const void *buf, size_t len) {
  piece_writer *w = ctx;
  const uint8_t *p = buf;
  while (w->status == STORE_OK && len > 0) {
    size_t n = PIECE_BYTES - w->len < len ? PIECE_BYTES - w->len : len;
    memcpy(w->buf + w->len, p, n);
    w->len += n, w->total += n, p += n, len -= n;
    if (w->len == PIECE_BYTES) flush_piece(w);
  }
  return w->status == STORE_OK ? 0 : -1;
}

/* The table of the row just inserted, from the caller's buffer or writer. */
static int write_pieces(store *st, int64_t id, const store_dataset_data *data) {
  piece_writer w = {st, id, 0, malloc(PIECE_BYTES), 0, 0, STORE_OK};
  if (w.buf == NULL) return STORE_ENOMEM;
  if (data->write_table == NULL)
    put_piece(&w, data->table, data->table_len);
  else if (data->write_table(data->write_table_ud, put_piece, &w) != 0 && w.status == STORE_OK)
    w.status = STORE_EIO;
  flush_piece(&w);
  if (w.status == STORE_OK && w.total != data->table_len) w.status = STORE_EINVAL;
  free(w.buf);
  return w.status;
}

int store_dataset_insert(store *st, const store_dataset *meta, const store_dataset_data *data,
                         store_dataset *out) {
  store_dataset tmp;
  store_dataset *row = out ? out : &tmp;
  memset(row, 0, sizeof *row);
  int status = check_dataset(meta, data);
  if (status != STORE_OK) return status;
  char created[STORE_TIME_LEN];
  store__now(created);
  store__query q = store__prepare(st, &dataset_insert);
  store__bind_text(&q, ":name", meta->name);
  store__bind_int64(&q, ":rows", meta->rows);
  store__bind_int64(&q, ":features", meta->features);
  store__bind_int64(&q, ":outputs", meta->outputs);
  store__bind_text(&q, ":task", store__task_names[meta->task]);
  store__bind_text(&q, ":classes", meta->classes);
  store__bind_text(&q, ":created_at", created);
  store__bind_text(&q, ":kind", meta->table ? "table" : "numeric");
  if (meta->table) {
    store__bind_text(&q, ":target", meta->target);
    store__bind_int64(&q, ":rows_without_target", meta->rows_without_target);
    store__bind_text(&q, ":columns", meta->columns);
    store__bind_blob(&q, ":data", "", 0); /* the table goes in pieces, after the row */
  }
  /* Blobs are bound in place: a 256 MiB dataset is not copied again. */
  if (data->x != NULL) store__bind_blob(&q, ":x", data->x, array_bytes(meta->rows, meta->features));
  if (data->y != NULL) store__bind_blob(&q, ":y", data->y, array_bytes(meta->rows, meta->outputs));
  if (data->labels != NULL)
    store__bind_blob(&q, ":labels", data->labels, array_bytes(meta->rows, 1));
  if (q.status != STORE_OK) {
    store__done(&q);
    return q.status;
  }
  if (!meta->table) {
    store__write_lock(st);
    status = store__run_one(&q, read_dataset, clear_dataset, row);
    store__write_unlock(st);
  } else if ((status = store__begin(st, Q_BEGIN_WRITE)) != STORE_OK) {
    store__done(&q);
  } else { /* the row and its pieces in one transaction */
    status = store__run_one(&q, read_dataset, clear_dataset, row);
    if (status == STORE_OK) status = write_pieces(st, row->id, data);
    status = store__end(st, status);
    if (status != STORE_OK) store_dataset_clear(row);
  }
  if (out == NULL && status == STORE_OK) store_dataset_clear(&tmp);
  return status;
}

static const store__sql dataset_get = {
    Q_DATASET_GET, "SELECT " DATASET_COLS " FROM datasets WHERE id = :id"};

int store_dataset_get(store *st, int64_t id, store_dataset *out) {
  memset(out, 0, sizeof *out);
  store__query q = store__prepare(st, &dataset_get);
  store__bind_int64(&q, ":id", id);
  return store__run_one(&q, read_dataset, clear_dataset, out);
}

/* Room for rows rows of m's arrays (x, and y or labels); STORE_ENOMEM when
 * they do not fit. */
static int alloc_data(const store_dataset *m, size_t rows, store_dataset_data *d) {
  int regression = m->task == STORE_TASK_REGRESSION;
  size_t x_bytes = array_bytes((int64_t)rows, m->features);
  size_t t_bytes = array_bytes((int64_t)rows, regression ? m->outputs : 1);
  d->x = x_bytes ? malloc(x_bytes) : NULL;            /* (rows, features) */
  if (regression)
    d->y = t_bytes ? malloc(t_bytes) : NULL;          /* (rows, outputs) */
  else
    d->labels = t_bytes ? malloc(t_bytes) : NULL;     /* (rows,) */
  return d->x == NULL || (d->y == NULL && d->labels == NULL) ? STORE_ENOMEM : STORE_OK;
}

/* Read the whole array in column `column` of dataset id, (rows, cols) 4-byte
 * numbers, into dst by incremental blob I/O: straight from the database
 * pages, where reading the column through a statement would first hold all
 * of it in a buffer of SQLite's, doubling the peak memory of a large set. */
static int read_array(store *st, const char *column, int64_t id, int64_t rows, int64_t cols,
                      void *dst) {
  sqlite3_blob *b;
  int rc = sqlite3_blob_open(st->db, "main", "datasets", column, id, 0, &b);
  if (rc != SQLITE_OK) return store__status_of(rc);
  size_t bytes = array_bytes(rows, cols);
  /* the schema's CHECKs promise the length; another means corruption */
  int status = (size_t)sqlite3_blob_bytes(b) == bytes ? STORE_OK : STORE_EIO;
  if (status == STORE_OK) /* a blob is at most SQLite's limit, < 2^31 bytes */
    status = store__status_of(sqlite3_blob_read(b, dst, (int)bytes, 0));
  sqlite3_blob_close(b);
  return status;
}

static const store__sql pieces_size = {
    Q_DATASET_PIECES_SIZE,
    "SELECT total(length(bytes)) FROM dataset_pieces WHERE dataset_id = :id"};
static const store__sql pieces_get = {
    Q_DATASET_PIECES, "SELECT bytes FROM dataset_pieces WHERE dataset_id = :id ORDER BY piece"};

static int read_double(sqlite3_stmt *s, void *row) {
  *(double *)row = sqlite3_column_double(s, 0);
  return STORE_OK;
}

/* A table's stored form, its pieces read into one buffer of their total
 * size (length() reads no blob's bytes). */
static int read_table(store *st, int64_t id, store_dataset_data *data) {
  double total = 0;
  store__query q = store__prepare(st, &pieces_size);
  store__bind_int64(&q, ":id", id);
  int status = store__run_one(&q, read_double, NULL, &total), rc = SQLITE_DONE;
  if (status == STORE_OK && !(total > 0 && total <= (double)SIZE_MAX / 2)) status = STORE_EIO;
  size_t bytes = status == STORE_OK ? (size_t)total : 0, at = 0;
  if (status == STORE_OK && (data->table = malloc(bytes)) == NULL) status = STORE_ENOMEM;
  if (status != STORE_OK) return status;
  q = store__prepare(st, &pieces_get);
  store__bind_int64(&q, ":id", id);
  while (q.status == STORE_OK && (rc = sqlite3_step(q.s)) == SQLITE_ROW) {
    const void *p = sqlite3_column_blob(q.s, 0);
    size_t n = (size_t)sqlite3_column_bytes(q.s, 0);
    if (n > bytes - at || (n > 0 && p == NULL)) {
      rc = SQLITE_CORRUPT;
      break;
    }
    memcpy(data->table + at, p, n);
    at += n;
  }
  status = q.status != STORE_OK ? q.status
           : rc != SQLITE_DONE  ? store__status_of_db(st->db, rc)
           : at != bytes        ? STORE_EIO
                                : STORE_OK;
  store__done(&q);
  if (status == STORE_OK) data->table_len = bytes;
  return status;
}

int store_dataset_get_data(store *st, int64_t id, store_dataset *meta, store_dataset_data *data) {
  memset(meta, 0, sizeof *meta);
  memset(data, 0, sizeof *data);
  /* one read transaction: the row cannot change between its reads */
  int status = store__begin(st, Q_BEGIN_READ);
  if (status != STORE_OK) return status;
  status = store_dataset_get(st, id, meta);
  if (status == STORE_OK && meta->table) {
    status = read_table(st, id, data);
  } else if (status == STORE_OK) {
    status = alloc_data(meta, (size_t)meta->rows, data);
    if (status == STORE_OK) status = read_array(st, "x", id, meta->rows, meta->features, data->x);
    if (status == STORE_OK && meta->task == STORE_TASK_REGRESSION)
      status = read_array(st, "y", id, meta->rows, meta->outputs, data->y);
    else if (status == STORE_OK)
      status = read_array(st, "labels", id, meta->rows, 1, data->labels);
  }
  status = store__end(st, status);
  if (status != STORE_OK) {
    store_dataset_clear(meta);
    store_dataset_data_clear(data);
  }
  return status;
}

/* Copy the rows idx (k,) of the (rows, cols) 4-byte array in column `column`
 * of dataset id into dst (k, cols), with incremental blob reads: only those
 * rows' bytes are read. */
static int read_rows(store *st, const char *column, int64_t id, const int64_t *idx, size_t k,
                     int64_t cols, void *dst) {
  sqlite3_blob *b;
  int rc = sqlite3_blob_open(st->db, "main", "datasets", column, id, 0, &b);
  if (rc != SQLITE_OK) return store__status_of(rc);
  /* a row of at most SQLite's blob limit (< 2^31 bytes) fits an int, and so
   * does its offset inside the blob */
  int bytes = (int)(cols * 4);
  for (size_t i = 0; rc == SQLITE_OK && i < k; i++)
    rc = sqlite3_blob_read(b, (char *)dst + i * (size_t)bytes, bytes, (int)(idx[i] * bytes));
  sqlite3_blob_close(b);
  return store__status_of(rc);
}

int store_dataset_sample(store *st, int64_t id, size_t n, store_dataset *meta,
                         store_dataset_data *data, size_t *k) {
  int64_t *idx = NULL;
  size_t count = 0;
  memset(meta, 0, sizeof *meta);
  memset(data, 0, sizeof *data);
  *k = 0;
  if (n < 1) return STORE_EINVAL;
  int status = store__begin(st, Q_BEGIN_READ);
  if (status != STORE_OK) return status;
  if ((status = store_dataset_get(st, id, meta)) != STORE_OK) goto exit;
  if (meta->table) { /* a table is read whole (store_dataset_get_data) */
    status = STORE_EINVAL;
    goto exit;
  }
  count = (uint64_t)meta->rows < n ? (size_t)meta->rows : n;
  int regression = meta->task == STORE_TASK_REGRESSION;
  idx = malloc(count * sizeof *idx);
  if ((status = alloc_data(meta, count, data)) != STORE_OK) goto exit;
  if (idx == NULL) {
    status = STORE_ENOMEM;
    goto exit;
  }
  for (size_t i = 0; i < count; i++) idx[i] = (int64_t)i * meta->rows / (int64_t)count;
  status = read_rows(st, "x", id, idx, count, meta->features, data->x);
  if (status == STORE_OK && regression)
    status = read_rows(st, "y", id, idx, count, meta->outputs, data->y);
  else if (status == STORE_OK)
    status = read_rows(st, "labels", id, idx, count, 1, data->labels);
exit:
  status = store__end(st, status);
  free(idx);
  if (status != STORE_OK) {
    store_dataset_clear(meta);
    store_dataset_data_clear(data);
    return status;
  }
  *k = count;
  return STORE_OK;
}

static const store__sql dataset_list = {
    Q_DATASET_LIST, "SELECT " DATASET_SUMMARY_COLS " FROM datasets ORDER BY id"};

int store_dataset_list(store *st, store_dataset **out, size_t *n) {
  void *rows;
  store__query q = store__prepare(st, &dataset_list);
  int status = store__run_list(&q, sizeof **out, read_dataset, clear_dataset, &rows, n);
  *out = rows;
  return status;
}

static const store__sql dataset_in_use = {
    Q_DATASET_IN_USE,
    "SELECT EXISTS (SELECT 1 FROM jobs WHERE dataset_id = :id AND state IN " JOB_ACTIVE ")"};
static const store__sql dataset_delete = {Q_DATASET_DELETE, "DELETE FROM datasets WHERE id = :id"};

int store_dataset_delete(store *st, int64_t id) {
  return store__delete_unused(st, &dataset_in_use, &dataset_delete, id);
}
