/* fixture.c — see fixture.h. */
#include "fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEP " \t\r\n"

static int fail(char *err, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, len, fmt, ap);
  va_end(ap);
  return -1;
}

/* The next token of the line as a number; 0 on success. */
static int number(char **save, double *v) {
  char *tok = strtok_r(NULL, SEP, save), *end;
  if (tok == NULL) return -1;
  *v = strtod(tok, &end);
  return *end == '\0' ? 0 : -1;
}

/* The next token of the line as a name from one of core's tables. */
static int name_value(char **save, nn_names_kind kind, int *v) {
  return nn_parse_name(kind, strtok_r(NULL, SEP, save), v) == NN_OK ? 0 : -1;
}

static int parse_layer(const char *type, char **save, nn_spec *s) {
  if (s->n_layers == NN_MAX_LAYERS) return -1;
  nn_layer_spec *l = &s->layers[s->n_layers++];
  nn_layer_spec_defaults(l);
  double units, slope, rate;
  int act;
  if (strcmp(type, "dropout") == 0) {
    l->type = NN_LAYER_DROPOUT;
    if (number(save, &rate) != 0) return -1;
    l->rate = (float)rate;
    return 0;
  }
  if (number(save, &units) != 0 || name_value(save, NN_NAMES_ACT, &act) != 0 ||
      number(save, &slope) != 0)
    return -1;
  l->units = (int)units;
  l->act = (nn_act)act;
  l->slope = (float)slope;
  return 0;
}

/* `train opt NAME KEY VALUE ...`: optimizer defaults first, then the keys. */
static int parse_train(char **save, fixture_case *c) {
  nn_train_config *t = &c->train;
  nn_optim_spec *o = &t->optim;
  char *key = strtok_r(NULL, SEP, save);
  int opt, sched;
  if (key == NULL || strcmp(key, "opt") != 0 || name_value(save, NN_NAMES_OPT, &opt) != 0)
    return -1;
  nn_optim_defaults((nn_opt)opt, o);
  c->has_train = 1;
  while ((key = strtok_r(NULL, SEP, save)) != NULL) {
    double v;
    if (strcmp(key, "sched") == 0) {
      if (name_value(save, NN_NAMES_SCHED, &sched) != 0) return -1;
      t->sched.type = (nn_sched)sched;
      continue;
    }
    if (number(save, &v) != 0) return -1;
    if (strcmp(key, "lr") == 0) o->lr = (float)v;
    else if (strcmp(key, "momentum") == 0) o->momentum = (float)v;
    else if (strcmp(key, "nesterov") == 0) o->nesterov = (int)v;
    else if (strcmp(key, "weight_decay") == 0) o->weight_decay = (float)v;
    else if (strcmp(key, "alpha") == 0) o->alpha = (float)v;
    else if (strcmp(key, "clip_norm") == 0) t->clip_norm = (float)v;
    else if (strcmp(key, "step_size") == 0) t->sched.step_size = (int)v;
    else if (strcmp(key, "gamma") == 0) t->sched.gamma = (float)v;
    else if (strcmp(key, "epochs") == 0) t->epochs = (int)v;
    else return -1;
  }
  return 0;
}

/* `tensor NAME COUNT`, then COUNT numbers on the following lines. */
static int parse_tensor(FILE *f, char **save, fixture_case *c) {
  char *name = strtok_r(NULL, SEP, save);
  double count;
  if (name == NULL || number(save, &count) != 0 || count < 1 || count > 1e6 ||
      c->n_tensors == FIXTURE_MAX_TENSORS)
    return -1;
  fixture_tensor *t = &c->tensors[c->n_tensors++];
  snprintf(t->name, sizeof t->name, "%s", name);
  t->count = (size_t)count;
  t->v = malloc(t->count * sizeof(float));
  if (t->v == NULL) return -1;
  /* %f is correctly rounded, so %.9g text gives back the exact float */
  for (size_t i = 0; i < t->count; i++)
    if (fscanf(f, "%f", &t->v[i]) != 1) return -1;
  return 0;
}

static int parse_line(FILE *f, const char *tok, char **save, fixture_case *c) {
  double inputs;
  int loss;
  if (strcmp(tok, "net") == 0) {
    if (number(save, &inputs) != 0 || name_value(save, NN_NAMES_LOSS, &loss) != 0) return -1;
    c->spec.inputs = (int)inputs;
    c->spec.loss = (nn_loss)loss;
    return 0;
  }
  if (strcmp(tok, "dense") == 0 || strcmp(tok, "dropout") == 0)
    return parse_layer(tok, save, &c->spec);
  if (strcmp(tok, "train") == 0) return parse_train(save, c);
  if (strcmp(tok, "tensor") == 0) return parse_tensor(f, save, c);
  return -1;
}

int fixture_load(const char *path, const char *name, fixture_case *c, char *err,
                 size_t err_len) {
  memset(c, 0, sizeof *c);
  nn_train_config_defaults(&c->train);
  FILE *f = fopen(path, "r");
  if (f == NULL) return fail(err, err_len, "cannot open %s (run from the repository root)", path);
  char *line = NULL;
  size_t cap = 0;
  int in_case = 0;
  int rc = fail(err, err_len, "%s: no complete case %s", path, name);
  while (getline(&line, &cap, f) > 0) {
    char *save, *tok = strtok_r(line, SEP, &save);
    if (tok == NULL || tok[0] == '#') continue;
    if (!in_case) {
      in_case = strcmp(tok, "case") == 0 && (tok = strtok_r(NULL, SEP, &save)) != NULL &&
                strcmp(tok, name) == 0;
      continue;
    }
    if (strcmp(tok, "end") == 0) {
      nn_error e;
      rc = nn_spec_validate(&c->spec, &e) == NN_OK
               ? 0
               : fail(err, err_len, "%s: case %s: %s", path, name, e.message);
      break;
    }
    if (parse_line(f, tok, &save, c) != 0) {
      rc = fail(err, err_len, "%s: case %s: malformed `%s` line", path, name, tok);
      break;
    }
  }
  free(line);
  fclose(f);
  return rc;
}

const fixture_tensor *fixture_tensor_get(const fixture_case *c, const char *name) {
  for (int i = 0; i < c->n_tensors; i++)
    if (strcmp(c->tensors[i].name, name) == 0) return &c->tensors[i];
  return NULL;
}

void fixture_free(fixture_case *c) {
  for (int i = 0; i < c->n_tensors; i++) free(c->tensors[i].v);
  c->n_tensors = 0;
}
