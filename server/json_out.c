/* json_out.c — resources to JSON. */
#include "json_out.h"

#include "../core/graph.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>


static bool add_int(cJSON *o, const char *key, int64_t v) {
  return cJSON_AddNumberToObject(o, key, (double)v) != NULL;
}

/* An id that may be unset (0): null then. */
static bool add_id(cJSON *o, const char *key, int64_t v) {
  return v > 0 ? add_int(o, key, v) : cJSON_AddNullToObject(o, key) != NULL;
}

static bool add_number(cJSON *o, const char *key, double v) {
  return isfinite(v) ? cJSON_AddNumberToObject(o, key, v) != NULL
                     : cJSON_AddNullToObject(o, key) != NULL;
}

/* A string that may be unset (NULL or ""): null then. */
static bool add_text(cJSON *o, const char *key, const char *s) {
  return s != NULL && s[0] != '\0' ? cJSON_AddStringToObject(o, key, s) != NULL
                                   : cJSON_AddNullToObject(o, key) != NULL;
}

/* JSON text the store holds (a spec, a job config, class names), embedded
 * as it is: parsed only to check it, since printing the parsed tree again
 * would round integers of 16 digits and more (see parse_json_add_int). */
static bool add_stored_json(cJSON *o, const char *key, const char *text) {
  if (text == NULL) return cJSON_AddNullToObject(o, key) != NULL;
  cJSON *v = cJSON_ParseWithOpts(text, NULL, 1); /* nothing may follow the value */
  if (v == NULL) return false;
  cJSON_Delete(v);
  return cJSON_AddRawToObject(o, key, text) != NULL;
}

/* NULL text is no damage: it stands for null. */
bool json_out_text_damaged(const char *text) {
  if (text == NULL) return false;
  cJSON *v = cJSON_ParseWithOpts(text, NULL, 1);
  cJSON_Delete(v);
  return v == NULL; /* or out of memory while parsing: then the row is left out too */
}

/* A list's summary row holds no class names, only their count: -1 when the
 * store found them damaged. */
bool json_out_dataset_damaged(const store_dataset *d) {
  return (d->task == STORE_TASK_CLASSIFICATION &&
          (d->n_classes < 0 || json_out_text_damaged(d->classes))) ||
         json_out_text_damaged(d->columns);
}

bool json_out_model_damaged(const store_model *m) {
  return json_out_text_damaged(m->spec) || m->n_classes < 0 || json_out_text_damaged(m->classes);
}

static cJSON *finish(cJSON *o, bool ok) {
  if (ok) return o;
  cJSON_Delete(o);
  return NULL;
}

/* A dataset, with its class names (full) or only their count (a summary). */
static cJSON *dataset(const store_dataset *d, bool full) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && add_int(o, "id", d->id) && add_text(o, "name", d->name) &&
            add_int(o, "rows", d->rows) && add_int(o, "features", d->features) &&
            add_int(o, "outputs", d->outputs) &&
            add_text(o, "task", store_task_name(d->task));
  if (ok && d->task == STORE_TASK_CLASSIFICATION)
    ok = d->n_classes >= 0 && add_int(o, "class_count", d->n_classes) && /* -1: damaged */
         (!full || add_stored_json(o, "classes", d->classes));
  ok = ok && add_text(o, "kind", d->table ? "table" : "numeric");
  if (ok && d->table) /* a table's columns' profile when read alone */
    ok = add_text(o, "target", d->target) &&
         add_int(o, "rows_without_target", d->rows_without_target) &&
         (!full || add_stored_json(o, "columns", d->columns));
  ok = ok && add_text(o, "created_at", d->created_at);
  return finish(o, ok);
}

cJSON *json_out_dataset(const store_dataset *d) { return dataset(d, true); }
cJSON *json_out_dataset_summary(const store_dataset *d) { return dataset(d, false); }

/* A model, with its class names (full) or only their count (a summary). */
static cJSON *model(const store_model *m, bool full) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && add_int(o, "id", m->id) && add_text(o, "name", m->name) &&
            add_stored_json(o, "spec", m->spec) && add_int(o, "parameters", m->parameters) &&
            add_int(o, "version", m->version) &&
            cJSON_AddBoolToObject(o, "trained", m->trained) != NULL &&
            add_id(o, "last_job", m->last_job) &&
            m->n_classes >= 0 && add_id(o, "class_count", m->n_classes) && /* -1: damaged */
            (!full || add_stored_json(o, "classes", m->classes)) &&
            add_text(o, "created_at", m->created_at);
  return finish(o, ok);
}

cJSON *json_out_model(const store_model *m) { return model(m, true); }
cJSON *json_out_model_summary(const store_model *m) { return model(m, false); }

cJSON *json_out_job(const store_job *j) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && add_int(o, "id", j->id) && add_id(o, "model", j->model_id) &&
            add_id(o, "dataset", j->dataset_id) &&
            add_text(o, "state", store_job_state_name(j->state)) &&
            add_int(o, "epoch", j->epoch) && add_int(o, "epochs", j->epochs) &&
            add_number(o, "loss", j->loss) && add_number(o, "val_loss", j->val_loss) &&
            add_number(o, "accuracy", j->accuracy) &&
            add_number(o, "val_accuracy", j->val_accuracy) &&
            add_number(o, "samples_per_second", j->samples_per_second) &&
            add_text(o, "created_at", j->created_at) &&
            add_text(o, "started_at", j->started_at) &&
            add_text(o, "finished_at", j->finished_at) && add_text(o, "error", j->error) &&
            add_stored_json(o, "config", j->config) && add_int(o, "restarts", j->restarts) &&
            cJSON_AddBoolToObject(o, "cancel_requested", j->cancel_requested) != NULL;
  return finish(o, ok);
}

cJSON *json_out_metric(const store_metric *m) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && add_int(o, "epoch", m->epoch) && add_number(o, "loss", m->loss) &&
            add_number(o, "val_loss", m->val_loss) && add_number(o, "accuracy", m->accuracy) &&
            add_number(o, "val_accuracy", m->val_accuracy) &&
            cJSON_AddItemToObject(o, "lr", json_out_float((float)m->lr)) &&
            add_number(o, "seconds", m->seconds) && add_id(o, "threads", m->threads) &&
            add_stored_json(o, "layers", m->layers);
  return finish(o, ok);
}

/* {"layer","type","activation"} of layer l: what every per-layer report starts with. */
cJSON *json_out_layer_head(const nn_spec *spec, int l) {
  const nn_layer_spec *ls = &spec->layers[l];
  int dense = ls->type == NN_LAYER_DENSE;
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && add_int(o, "layer", l) &&
            add_text(o, "type", nn_name(NN_NAMES_LAYER, (int)ls->type)) &&
            add_text(o, "activation", dense ? nn_name(NN_NAMES_ACT, (int)ls->act) : NULL);
  return finish(o, ok);
}

/* {"node","op","activation"} of a graph's node i; activation null but for
 * dense and conv nodes. */
static cJSON *node_head(const nn_graph_spec *g, int i) {
  const nn_node_spec *n = &g->nodes[i];
  int product = n->op == NN_OP_DENSE || n->op == NN_OP_CONV1D || n->op == NN_OP_CONV2D;
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && add_text(o, "node", n->name) && add_text(o, "op", nn_op_name(n->op)) &&
            add_text(o, "activation", product ? nn_name(NN_NAMES_ACT, (int)n->activation)
                                              : NULL);
  return finish(o, ok);
}

cJSON *json_out_layers(const nn_spec *spec, const nn_layer_diag *diag) {
  cJSON *arr = cJSON_CreateArray();
  bool ok = arr != NULL;
  int n = spec->graph != NULL ? spec->graph->n_nodes : spec->n_layers;
  for (int l = 0; ok && l < n; l++) {
    cJSON *o = spec->graph != NULL ? node_head(spec->graph, l) : json_out_layer_head(spec, l);
    ok = cJSON_AddItemToArray(arr, o) && add_number(o, "grad_norm", diag[l].grad_norm) &&
         add_number(o, "weight_norm", diag[l].weight_norm) &&
         add_number(o, "dead_fraction", diag[l].dead_fraction);
  }
  return finish(arr, ok);
}

cJSON *json_out_checkpoint(const store_checkpoint *c) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && add_int(o, "epoch", c->epoch) && add_int(o, "bytes", c->bytes) &&
            add_text(o, "created_at", c->created_at);
  return finish(o, ok);
}

cJSON *json_out_model_version(const store_model_version *v) {
  cJSON *o = cJSON_CreateObject();
  bool ok = o != NULL && add_int(o, "version", v->version) && add_id(o, "job", v->job_id) &&
            add_id(o, "epoch", v->epoch) && add_int(o, "bytes", v->bytes) &&
            add_text(o, "published_at", v->published_at);
  return finish(o, ok);
}

/* {"job": id, ...the fields of row}; row is consumed. */
static cJSON *of_job(int64_t job_id, cJSON *row) {
  cJSON *o = row != NULL ? cJSON_CreateObject() : NULL;
  bool ok = o != NULL && add_int(o, "job", job_id);
  while (ok && row->child != NULL) {
    cJSON *item = cJSON_DetachItemViaPointer(row, row->child);
    ok = cJSON_AddItemToObject(o, item->string, item);
    if (!ok) cJSON_Delete(item);
  }
  cJSON_Delete(row);
  return finish(o, ok);
}

/* Move the members of detail (a JSON object's text) into o. @return success */
static bool add_detail(cJSON *o, const char *detail) {
  cJSON *d = detail != NULL ? cJSON_Parse(detail) : NULL;
  bool ok = cJSON_IsObject(d);
  while (ok && d->child != NULL) {
    cJSON *member = cJSON_DetachItemViaPointer(d, d->child);
    ok = cJSON_AddItemToObject(o, member->string, member);
    if (!ok) cJSON_Delete(member);
  }
  cJSON_Delete(d);
  return ok;
}

cJSON *json_out_event(const store_event *e) {
  switch (e->kind) {
    case STORE_EVENT_STATE: {
      store_job j = e->job; /* a shallow copy, only read */
      j.state = e->state;
      j.epoch = e->epoch;
      if (j.state == STORE_JOB_QUEUED || j.state == STORE_JOB_RUNNING) {
        j.finished_at[0] = '\0';
        j.error = NULL;
      }
      return json_out_job(&j);
    }
    case STORE_EVENT_EPOCH:
      return of_job(e->job_id, json_out_metric(&e->metric));
    case STORE_EVENT_CHECKPOINT: {
      cJSON *o = cJSON_CreateObject();
      bool ok = o != NULL && add_int(o, "job", e->job_id) && add_int(o, "epoch", e->epoch) &&
                add_int(o, "version", e->version) && add_int(o, "bytes", e->bytes);
      return finish(o, ok);
    }
    case STORE_EVENT_SEARCH: {
      /* {"search": id, "type": .., then the detail's members} */
      cJSON *o = cJSON_CreateObject();
      bool ok = o != NULL && add_int(o, "search", e->search_id) &&
                cJSON_AddStringToObject(o, "type", store_search_event_name(e->type)) &&
                add_detail(o, e->detail);
      return finish(o, ok);
    }
    case STORE_EVENT_PREDICTION: {
      /* {"prediction": id, "state": .., then the detail's (rows, rows_done) */
      cJSON *o = cJSON_CreateObject();
      bool ok = o != NULL && add_int(o, "prediction", e->prediction_id) &&
                cJSON_AddStringToObject(o, "state", store_job_state_name(e->state)) &&
                add_detail(o, e->detail);
      return finish(o, ok);
    }
    default:
      return NULL;
  }
}

cJSON *json_out_float(float v) {
  if (!isfinite(v)) return cJSON_CreateNull();
  char buf[32];
  /* The shortest of %.1g .. %.9g that reads back exactly (9 digits always
   * do); cJSON then prints the double parsed from it with those digits. */
  for (int digits = 1; digits <= 9; digits++) {
    snprintf(buf, sizeof buf, "%.*g", digits, (double)v);
    if (strtof(buf, NULL) == v) break;
  }
  return cJSON_CreateNumber(strtod(buf, NULL));
}
