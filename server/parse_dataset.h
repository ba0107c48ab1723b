/*
 * parse_dataset.h — data set bodies (POST /v1/datasets) to float arrays.
 *
 * JSON: {"name":"xor","inputs":[[0,0],[0,1]],"targets":[[0],[1]]} (regression,
 * any target width) or {"name":"iris","inputs":[...],"labels":["setosa",...]}
 * (classification: labels all strings, classes = the sorted distinct
 * strings; or all integers >= 0, classes "0".."max").
 *
 * Both stream in: JSON through json_stream.h, CSV bodies through
 * parse_csv.h; both give the same parse_dataset_out.
 */
#ifndef TRAIND_PARSE_DATASET_H
#define TRAIND_PARSE_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "parse_json.h"

#define PARSE_DATASET_MAX_VALUES ((size_t)1 << 30) /* floats in x, and in y */
#define PARSE_CLASS_NAME_MAX 256                  /* bytes of one class name */
/* Classes of one dataset: a softmax over more has a wide output layer
 * (units x width parameters) learning from few rows each, and every class
 * name is answered with the dataset, its models and their predictions. */
#define PARSE_MAX_CLASSES 10000

typedef enum { PARSE_TASK_REGRESSION, PARSE_TASK_CLASSIFICATION } parse_task;

/* A parsed data set; owns every array. Exactly one of y and labels is set
 * (neither for a table). */
typedef struct parse_dataset_out {
  size_t rows;
  int features;
  int outputs;       /* target width, or the class count */
  parse_task task;
  int n_classes;     /* classification only */
  char **classes;    /* (n_classes,) class names, sorted; label i names classes[i] */
  float *x;          /* (rows, features) */
  float *y;          /* (rows, outputs): regression */
  int32_t *labels;   /* (rows,): classification, in [0, n_classes) */
  /* A typed table (parse_table.h) instead of x, y and labels: rows counts
   * all its rows, features its feature columns. */
  struct nn_table *table;
  char *target;              /* its target column */
  size_t rows_without_target;
} parse_dataset_out;

/** @return "regression" or "classification" (NULL when out of range). */
const char *parse_task_name(parse_task task);

/** Free everything d owns and zero it; d may be zeroed already. */
void parse_dataset_out_free(parse_dataset_out *d);

/**
 * Bytes of a (rows, cols) float matrix.
 * @return 0 when rows * cols overflows or exceeds PARSE_DATASET_MAX_VALUES
 */
size_t parse_matrix_bytes(size_t rows, size_t cols);

/* A JSON data set body parsed as it streams in (POST /v1/datasets with
 * application/json), never held whole: see parse_dataset.c. */
typedef struct parse_dataset_json parse_dataset_json;

/** @return 0, or -API_INTERNAL when out of memory */
int parse_dataset_json_new(parse_dataset_json **out, api_error *err);

/** Parse the next len bytes. Every problem is reported by finish, the one
 *  a parse of the whole body would report first. */
void parse_dataset_json_feed(parse_dataset_json *p, const char *data, size_t len);

/**
 * End of the body: check everything and hand the data over.
 * @param name receives the data set's name
 * @param out  receives the data (free with parse_dataset_out_free)
 * @return 0, -API_INVALID_ARGUMENT naming the element ("inputs[3][1]"), or
 *         -API_INTERNAL when out of memory
 */
int parse_dataset_json_finish(parse_dataset_json *p, char name[PARSE_NAME_MAX + 1],
                              parse_dataset_out *out, api_error *err);

void parse_dataset_json_free(parse_dataset_json *p);

/* Shared with parse_csv.c. */

/** @return -API_INTERNAL with err saying "out of memory". */
int parse_out_of_memory(api_error *err);

/**
 * A float from text: a decimal number ([+-] digits, a point, an exponent:
 * "-1.5e3", ".5", "5."; never hex, "inf" or "nan") with optional blanks
 * around it, within float range.
 * @return 0, or -1 when s is anything else
 */
int parse_text_to_float(const char *s, float *out);

#endif
