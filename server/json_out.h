/*
 * json_out.h — the API's resources as JSON: one writer per resource, used by
 * every handler that answers with it, so a resource looks the same wherever
 * it appears. Unknown numbers (NAN metrics) and unset timestamps or ids are
 * written as null. Every writer returns a new object to cJSON_Delete, or
 * NULL when out of memory (or when stored JSON text no longer parses).
 */
#ifndef TRAIND_JSON_OUT_H
#define TRAIND_JSON_OUT_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "../core/nn.h"
#include "store.h"

/**
 * {"id","name","rows","features","outputs","task","class_count","classes","kind",
 *  "target","rows_without_target","columns","created_at"}
 * — class_count and classes for classification only; target,
 * rows_without_target and columns (its profile) for a table
 */
cJSON *json_out_dataset(const store_dataset *d);

/** The same without "classes", for lists: a summary stays small whatever the names. */
cJSON *json_out_dataset_summary(const store_dataset *d);

/**
 * {"id","name","spec","parameters","version","trained","last_job","class_count","classes",
 *  "created_at"} — classes: the names its weights predict, class_count how many (both null
 *  until trained on labels)
 */
cJSON *json_out_model(const store_model *m);

/** The same without "classes", for lists. */
cJSON *json_out_model_summary(const store_model *m);

/**
 * {"id","model","dataset","state","epoch","epochs","loss","val_loss","accuracy",
 *  "val_accuracy","samples_per_second","created_at","started_at","finished_at",
 *  "error","config","restarts","cancel_requested"}
 */
cJSON *json_out_job(const store_job *j);

/**
 * {"epoch","loss","val_loss","accuracy","val_accuracy","lr","seconds","threads",
 * "layers"}, lr as the float it is; threads: the compute threads the epoch ran
 * on; layers: the epoch's diagnostics (json_out_layers) as stored; both null
 * for epochs recorded before the daemon kept them
 */
cJSON *json_out_metric(const store_metric *m);

/** {"layer","type","activation"} of spec's layer l; activation null but for dense layers. */
cJSON *json_out_layer_head(const nn_spec *spec, int l);

/**
 * An epoch's diagnostics (nn_trainer_diagnostics), one object per layer:
 * json_out_layer_head plus "grad_norm" (root mean square over the epoch's
 * batches of the L2 norm of the weight gradient), "weight_norm" (L2 norm of
 * the weights at the epoch's end) and "dead_fraction" (relu layers: share of
 * units that output 0 for every training row of the epoch); null where they
 * do not apply (dropout layers; dead_fraction but for relu). A graph
 * model's: one per node, {"node","op","activation"} (activation null but
 * for dense and conv nodes) then the same three, over all of a node's
 * parameters, dead_fraction for relu nodes.
 * @param diag (spec->n_layers,), or (n_nodes,) of a graph
 */
cJSON *json_out_layers(const nn_spec *spec, const nn_layer_diag *diag);

/** {"epoch","bytes","created_at"} */
cJSON *json_out_checkpoint(const store_checkpoint *c);

/**
 * {"version","job","epoch","bytes","published_at"} — job, epoch and
 * published_at null for weights published before versions were kept
 */
cJSON *json_out_model_version(const store_model_version *v);

/**
 * The data of an event in a job's event stream, by its kind:
 *   state:      the job as json_out_job writes it, with the event's state and
 *               epoch, and with finished_at and error (set only when a job
 *               ends) null for queued and running; its other fields are as
 *               they are when the event is read
 *   epoch:      {"job", then the metrics row as json_out_metric writes it}
 *   checkpoint: {"job","epoch","version","bytes"}
 */
cJSON *json_out_event(const store_event *e);

/**
 * Whether a row's stored JSON text (a dataset's class names; a model's spec
 * and class names) no longer parses: the row was damaged behind the daemon's
 * back, and its writer above gives NULL for it, not for a lack of memory.
 */
/** Whether stored JSON text (NULL: none) no longer parses. */
bool json_out_text_damaged(const char *text);
bool json_out_dataset_damaged(const store_dataset *d);
bool json_out_model_damaged(const store_model *m);

/** A float as the shortest decimal that reads back as the same float. */
cJSON *json_out_float(float v);

#endif
