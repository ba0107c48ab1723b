/* api_datasets.c — data set endpoints: parse, store, answer. */
#include "api_datasets.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/table.h"
#include "json_out.h"
#include "json_table.h"
#include "parse_csv.h"
#include "reply.h"
#include "store.h"

/* The class names as the JSON array text the store keeps, or NULL when out of memory. */
static char *classes_text(const parse_dataset_out *d) {
  cJSON *arr = cJSON_CreateStringArray((const char *const *)d->classes, d->n_classes);
  char *text = arr != NULL ? cJSON_PrintUnformatted(arr) : NULL;
  cJSON_Delete(arr);
  return text;
}

/* nn_table_save's pieces, handed to the store's writer as they come. */
typedef struct {
  int (*put)(void *ctx, const void *buf, size_t len);
  void *ctx;
} table_sink;

static int table_write(void *ud, void *buf, size_t len) {
  table_sink *k = ud;
  return k->put(k->ctx, buf, len) == 0 ? NN_OK : NN_ERANGE;
}

/* store_dataset_data.write_table: the table saved straight into its blob,
 * 64 KiB at a time (no copy of the stored form is held). */
static int save_table(void *ud, int (*put)(void *ctx, const void *buf, size_t len), void *ctx) {
  table_sink k = {put, ctx};
  return nn_table_save(ud, table_write, &k) == NN_OK ? 0 : -1;
}

/* A table's stored size, its writer and its columns' profile, into meta and data. */
static int table_parts(const parse_dataset_out *d, store_dataset *meta, store_dataset_data *data) {
  uint64_t bytes = nn_table_saved_bytes(d->table);
  cJSON *columns = json_table_profile(d->table);
  int rc = bytes == 0 || bytes > SIZE_MAX || columns == NULL ||
                   (meta->columns = cJSON_PrintUnformatted(columns)) == NULL
               ? -1
               : 0;
  cJSON_Delete(columns);
  data->table_len = (size_t)bytes;
  data->write_table = save_table;
  data->write_table_ud = d->table;
  return rc;
}

/* Store a parsed data set and answer 201 with it. */
static void insert(app *a, const char *name, const parse_dataset_out *d, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int classification = d->task == PARSE_TASK_CLASSIFICATION;
  store_dataset meta = {
      .name = (char *)name,
      .rows = (int64_t)d->rows,
      .features = d->features,
      .outputs = d->outputs,
      .task = classification ? STORE_TASK_CLASSIFICATION : STORE_TASK_REGRESSION,
      .classes = classification ? classes_text(d) : NULL,
      .table = d->table != NULL,
      .target = d->target,
      .rows_without_target = (int64_t)d->rows_without_target,
  };
  store_dataset_data data = {.x = d->x, .y = d->y, .labels = d->labels};
  store_dataset row;
  if ((classification && meta.classes == NULL) ||
      (d->table != NULL && table_parts(d, &meta, &data) != 0)) {
    free(meta.classes);
    http_fail(res, API_INTERNAL, NULL, "out of memory");
    return;
  }
  int rc = store_dataset_insert(st, &meta, &data, &row);
  free(meta.classes);
  free(meta.columns);
  if (rc == STORE_ETOOBIG) {
    http_fail(res, API_PAYLOAD_TOO_LARGE, NULL, "the dataset is larger than the store accepts");
    return;
  }
  if (rc != STORE_OK) {
    reply_store_error(res, rc, NULL, 0);
    return;
  }
  http_json(res, 201, json_out_dataset(&row));
  store_dataset_clear(&row);
}

/* ---- JSON, streamed -------------------------------------------------------- */

static int json_begin(app *a, const http_request *req, void **ctx, api_error *err) {
  (void)a;
  (void)req;
  parse_dataset_json *p;
  int rc = parse_dataset_json_new(&p, err);
  if (rc == 0) *ctx = p;
  return rc;
}

static int json_chunk(void *ctx, const char *data, size_t len, api_error *err) {
  (void)err; /* every refusal waits for the end: a later byte may outrank it */
  parse_dataset_json_feed(ctx, data, len);
  return 0;
}

static void json_end(app *a, const http_request *req, void *ctx, http_response *res) {
  (void)req;
  parse_dataset_out d;
  char name[PARSE_NAME_MAX + 1];
  api_error err;
  if (parse_dataset_json_finish(ctx, name, &d, &err) != 0) {
    http_error(res, &err);
    return;
  }
  insert(a, name, &d, res);
  parse_dataset_out_free(&d);
}

static void json_done(void *ctx) { parse_dataset_json_free(ctx); }

const http_stream_ops api_datasets_json = {
    .begin = json_begin, .chunk = json_chunk, .end = json_end, .done = json_done};

/* ---- CSV, streamed --------------------------------------------------------- */

typedef struct {
  parse_csv *parser;
  char name[PARSE_NAME_MAX + 1];
} csv_upload;

static int csv_begin(app *a, const http_request *req, void **ctx, api_error *err) {
  (void)a;
  const char *name = route_query_get(&req->query, "name");
  const char *target = route_query_get(&req->query, "target");
  if (name == NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "name", "the ?name= parameter is required");
  int rc = parse_check_name(name, "name", err);
  if (rc != 0) return rc;
  if (target == NULL)
    return api_fail(err, API_INVALID_ARGUMENT, "target",
                    "the ?target= parameter is required: the target column name(s)");
  parse_table_options o;
  rc = parse_table_query(route_query_get(&req->query, "ignore"),
                         route_query_get(&req->query, "types"),
                         route_query_get(&req->query, "na_values"),
                         route_query_get(&req->query, "delimiter"), &o, err);
  if (rc != 0) return rc;
  csv_upload *u = calloc(1, sizeof *u);
  if (u == NULL) return api_fail(err, API_INTERNAL, NULL, "out of memory");
  snprintf(u->name, sizeof u->name, "%s", name);
  rc = parse_csv_new(target, &u->parser, err);
  if (rc == 0) rc = parse_csv_typed(u->parser, &o, err);
  if (rc != 0) {
    parse_csv_free(u->parser);
    free(u);
    return rc;
  }
  *ctx = u;
  return 0;
}

static int csv_chunk(void *ctx, const char *data, size_t len, api_error *err) {
  csv_upload *u = ctx;
  return parse_csv_feed(u->parser, data, len, err);
}

static void csv_end(app *a, const http_request *req, void *ctx, http_response *res) {
  (void)req;
  csv_upload *u = ctx;
  parse_dataset_out d;
  api_error err;
  if (parse_csv_finish(u->parser, &d, &err) != 0) {
    http_error(res, &err);
    return;
  }
  insert(a, u->name, &d, res);
  parse_dataset_out_free(&d);
}

static void csv_done(void *ctx) {
  csv_upload *u = ctx;
  parse_csv_free(u->parser);
  free(u);
}

const http_stream_ops api_datasets_csv = {
    .begin = csv_begin, .chunk = csv_chunk, .end = csv_end, .done = csv_done};

/* ---- list, read, delete ----------------------------------------------------- */

void api_datasets_list(app *a, const http_request *req, http_response *res) {
  (void)req;
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  store_dataset *list;
  size_t n;
  int rc = store_dataset_list(st, &list, &n);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, NULL, 0);
    return;
  }
  reply_list l;
  reply_list_start(&l, "datasets");
  for (size_t i = 0; i < n; i++) {
    /* NULL: damaged (its JSON parsed again only then), or out of memory */
    cJSON *item = json_out_dataset_summary(&list[i]);
    reply_list_add_row(&l, item, item == NULL && json_out_dataset_damaged(&list[i]), "dataset",
                       list[i].id);
  }
  store_dataset_list_free(list, n);
  reply_list_end(&l, res);
}

void api_datasets_get(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  store_dataset d;
  int rc = store_dataset_get(st, id, &d);
  if (rc != STORE_OK) {
    reply_store_error(res, rc, "dataset", id);
  } else {
    cJSON *item = json_out_dataset(&d);
    reply_row(res, item, item == NULL && json_out_dataset_damaged(&d), "dataset", id);
  }
  store_dataset_clear(&d);
}

void api_datasets_delete(app *a, const http_request *req, http_response *res) {
  store *st = app_store_or_answer(a, res);
  if (st == NULL) return;
  int64_t id = (int64_t)req->ids[0];
  int rc = store_dataset_delete(st, id);
  if (rc == STORE_ECONFLICT) {
    http_fail(res, API_CONFLICT, "id",
              "dataset %lld is used by a queued or running job; cancel the job first",
              (long long)id);
  } else if (rc != STORE_OK) {
    reply_store_error(res, rc, "dataset", id);
  } else {
    res->status = 204;
  }
}
