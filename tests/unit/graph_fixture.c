/* graph_fixture.c — see graph_fixture.h. */
#include "graph_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEP " \t\r\n"

static int fail(char *err, size_t len, int line, const char *fmt, ...) {
  int k = snprintf(err, len, "line %d: ", line);
  va_list ap;
  va_start(ap, fmt);
  if (k >= 0 && (size_t)k < len) vsnprintf(err + k, len - (size_t)k, fmt, ap);
  va_end(ap);
  return -1;
}

static int copy_name(char *dst, size_t cap, const char *src) {
  if (src == NULL || strlen(src) >= cap) return -1;
  strcpy(dst, src);
  return 0;
}

/* "a,b,c" into up to max integers; @return how many, or -1. */
static int int_list(const char *s, int *v, int max) {
  int n = 0;
  char *end;
  do {
    if (n == max) return -1;
    v[n++] = (int)strtol(s, &end, 10);
    if (end == s) return -1;
    s = end + (*end == ',');
  } while (*end == ',');
  return *end == '\0' ? n : -1;
}

static int float_value(const char *s, float *v) {
  char *end;
  *v = strtof(s, &end);
  return end != s && *end == '\0' ? 0 : -1;
}

/* One key=value attribute of a node line. */
static int attribute(nn_node_spec *n, const char *key, const char *val) {
  int v[NN_GRAPH_MAX_RANK], k, act;
  if (strcmp(key, "activation") == 0) {
    if (nn_parse_name(NN_NAMES_ACT, val, &act) != NN_OK) return -1;
    n->activation = (nn_act)act;
    return 0;
  }
  if (strcmp(key, "slope") == 0) return float_value(val, &n->slope);
  if (strcmp(key, "eps") == 0) return float_value(val, &n->eps);
  if (strcmp(key, "momentum") == 0) return float_value(val, &n->momentum);
  if (strcmp(key, "rate") == 0) return float_value(val, &n->rate);
  if ((k = int_list(val, v, NN_GRAPH_MAX_RANK)) < 0) return -1;
  if (strcmp(key, "shape") == 0) {
    n->shape.rank = k;
    memcpy(n->shape.dim, v, (size_t)k * sizeof v[0]);
    return 0;
  }
  struct { const char *key; int *dst; int max; } ints[] = {
      {"units", &n->units, 1},       {"filters", &n->filters, 1},
      {"categories", &n->categories, 1}, {"dim", &n->dim, 1},
      {"axis", &n->axis, 1},         {"start", &n->start, 1},
      {"end", &n->end, 1},           {"kernel", n->kernel, 2},
      {"stride", n->stride, 2},      {"padding", n->padding, 2},
      {"dilation", n->dilation, 2},  {"size", n->size, 2},
  };
  for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
    if (strcmp(key, ints[i].key) != 0) continue;
    if (k > ints[i].max) return -1;
    memcpy(ints[i].dst, v, (size_t)k * sizeof v[0]);
    return 0;
  }
  return -1;
}

/* `node NAME OP IN[,IN] K=V ...` */
static int node_line(nn_graph_spec *s, char **save) {
  if (s->n_nodes == NN_GRAPH_MAX_NODES) return -1;
  nn_node_spec *n = &s->nodes[s->n_nodes++];
  nn_node_spec_defaults(n);
  char *name = strtok_r(NULL, SEP, save), *op = strtok_r(NULL, SEP, save);
  char *args = strtok_r(NULL, SEP, save), *arg, *in_save, *kv;
  if (copy_name(n->name, sizeof n->name, name) != 0 || op == NULL || args == NULL ||
      nn_op_parse(op, &n->op) != NN_OK)
    return -1;
  for (arg = strtok_r(args, ",", &in_save); arg != NULL; arg = strtok_r(NULL, ",", &in_save))
    if (n->n_inputs == NN_GRAPH_MAX_ARGS ||
        copy_name(n->inputs[n->n_inputs++], NN_GRAPH_NAME, arg) != 0)
      return -1;
  while ((kv = strtok_r(NULL, SEP, save)) != NULL) {
    char *eq = strchr(kv, '=');
    if (eq == NULL) return -1;
    *eq = '\0';
    if (attribute(n, kv, eq + 1) != 0) return -1;
  }
  return 0;
}

/* `input NAME D...` */
static int input_line(nn_graph_spec *s, char **save) {
  if (s->n_inputs == NN_GRAPH_MAX_INPUTS) return -1;
  nn_shape *shape = &s->input_shapes[s->n_inputs];
  char *d;
  if (copy_name(s->input_names[s->n_inputs++], NN_GRAPH_NAME, strtok_r(NULL, SEP, save)) != 0)
    return -1;
  while ((d = strtok_r(NULL, SEP, save)) != NULL) {
    if (shape->rank == NN_GRAPH_MAX_RANK) return -1;
    shape->dim[shape->rank++] = atoi(d);
  }
  return shape->rank > 0 ? 0 : -1;
}

/* `tensor NAME COUNT` and its numbers, read from f. */
static int tensor_line(graph_fixture_case *c, char **save, FILE *f) {
  if (c->n_tensors == GRAPH_FIXTURE_MAX_TENSORS) return -1;
  graph_fixture_tensor *t = &c->tensors[c->n_tensors];
  char *name = strtok_r(NULL, SEP, save), *count = strtok_r(NULL, SEP, save);
  if (copy_name(t->name, sizeof t->name, name) != 0 || count == NULL) return -1;
  long k = atol(count);
  if (k <= 0 || k > (1L << 24)) return -1;
  t->count = (size_t)k;
  if ((t->v = malloc(t->count * sizeof(float))) == NULL) return -1;
  c->n_tensors++;
  for (size_t i = 0; i < t->count; i++)
    if (fscanf(f, "%f", &t->v[i]) != 1) return -1;
  return 0;
}

int graph_fixture_load(const char *path, graph_fixture_case *cases, int *n, char *err,
                       size_t err_len) {
  FILE *f = fopen(path, "r");
  char *line = NULL;
  size_t cap = 0;
  int lineno = 0, rc = 0;
  graph_fixture_case *c = NULL;
  *n = 0;
  if (f == NULL) return fail(err, err_len, 0, "cannot open %s", path);
  while (rc == 0 && getline(&line, &cap, f) >= 0) {
    lineno++;
    char *save, *word = strtok_r(line, SEP, &save);
    if (word == NULL || word[0] == '#') continue;
    if (strcmp(word, "case") == 0) {
      if (c != NULL || *n == GRAPH_FIXTURE_MAX_CASES) rc = -1;
      else {
        c = &cases[(*n)++];
        memset(c, 0, sizeof *c);
        c->spec.seed = 1;
        rc = copy_name(c->name, sizeof c->name, strtok_r(NULL, SEP, &save));
      }
    } else if (c == NULL) {
      rc = -1;
    } else if (strcmp(word, "rows") == 0 || strcmp(word, "train") == 0) {
      char *v = strtok_r(NULL, SEP, &save);
      if (v == NULL) rc = -1;
      else if (word[0] == 'r') c->rows = (size_t)atol(v);
      else c->train = atoi(v);
    } else if (strcmp(word, "input") == 0) {
      rc = input_line(&c->spec, &save);
    } else if (strcmp(word, "node") == 0) {
      rc = node_line(&c->spec, &save);
    } else if (strcmp(word, "output") == 0) {
      rc = copy_name(c->spec.output, NN_GRAPH_NAME, strtok_r(NULL, SEP, &save));
    } else if (strcmp(word, "tensor") == 0) {
      rc = tensor_line(c, &save, f);
    } else if (strcmp(word, "end") == 0) {
      c = NULL;
    } else {
      rc = -1;
    }
  }
  free(line);
  fclose(f);
  if (rc != 0) return fail(err, err_len, lineno, "malformed");
  if (c != NULL) return fail(err, err_len, lineno, "case %s has no end", c->name);
  return 0;
}

const graph_fixture_tensor *graph_fixture_tensor_get(const graph_fixture_case *c,
                                                     const char *name) {
  for (int i = 0; i < c->n_tensors; i++)
    if (strcmp(c->tensors[i].name, name) == 0) return &c->tensors[i];
  return NULL;
}

void graph_fixture_free(graph_fixture_case *c) {
  for (int i = 0; i < c->n_tensors; i++) free(c->tensors[i].v);
  c->n_tensors = 0;
}
