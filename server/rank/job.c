/*
 * job.c — traind-rank's inputs: the command line, a spec in one line, the
 * binary data set, whole files in and out. Until the daemon hands jobs over
 * a unix socket (docs/distributed.md), these are how a run is described;
 * the data set's binary form is what the socket will carry too, since the
 * daemon already holds a data set as these float arrays.
 */
#include "job.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DATA_MAGIC "TRDS"
#define DATA_VERSION 1
#define DATA_HEADER 32

static int usage(char *msg, size_t len, const char *what, const char *arg) {
  snprintf(msg, len, "%s%s%s", what, arg ? ": " : "", arg ? arg : "");
  return -1;
}

/* A whole-string number; -1 when s holds anything else. */
static int to_double(const char *s, double *v) {
  char *end;
  errno = 0;
  *v = strtod(s, &end);
  return end == s || *end != '\0' || errno != 0 ? -1 : 0;
}

static int to_int(const char *s, long lo, long hi, int *v) {
  char *end;
  errno = 0;
  long x = strtol(s, &end, 10);
  if (end == s || *end != '\0' || errno != 0 || x < lo || x > hi) return -1;
  *v = (int)x;
  return 0;
}

int job_args_parse(int argc, char **argv, job_args *a, char *msg, size_t msg_len) {
  memset(a, 0, sizeof *a);
  nn_train_config_defaults(&a->config);
  a->threads = 1;
  const char *opt_name = NULL;
  double lr = -1, wd = -1, momentum = -1;
  for (int i = 0; i < argc; i++) {
    const char *k = argv[i];
    if (strcmp(k, "--no-shuffle") == 0) {
      a->config.shuffle = 0;
      continue;
    }
    if (i + 1 >= argc) return usage(msg, msg_len, "missing value after", k);
    const char *v = argv[++i];
    double x;
    int bad = 0;
    if (strcmp(k, "--model") == 0) a->model_path = v;
    else if (strcmp(k, "--spec") == 0) a->spec_text = v;
    else if (strcmp(k, "--data") == 0) a->data_path = v;
    else if (strcmp(k, "--out") == 0) a->out_path = v;
    else if (strcmp(k, "--optimizer") == 0) opt_name = v;
    else if (strcmp(k, "--epochs") == 0) bad = to_int(v, 1, INT_MAX, &a->config.epochs);
    else if (strcmp(k, "--batch-size") == 0) bad = to_int(v, 1, NN_MAX_BATCH, &a->config.batch_size);
    else if (strcmp(k, "--local") == 0) bad = to_int(v, 1, NN_MAX_RANKS, &a->local);
    else if (strcmp(k, "--threads") == 0) bad = to_int(v, 1, NN_MAX_THREADS, &a->threads);
    else if (strcmp(k, "--seed") == 0) {
      char *end;
      errno = 0;
      a->config.seed = strtoull(v, &end, 10);
      bad = end == v || *end != '\0' || errno != 0;
    } else if (strcmp(k, "--lr") == 0) bad = to_double(v, &lr);
    else if (strcmp(k, "--weight-decay") == 0) bad = to_double(v, &wd);
    else if (strcmp(k, "--momentum") == 0) bad = to_double(v, &momentum);
    else if (strcmp(k, "--validation-split") == 0) {
      bad = to_double(v, &x);
      a->config.validation_split = (float)x;
    } else if (strcmp(k, "--clip-norm") == 0) {
      bad = to_double(v, &x);
      a->config.clip_norm = (float)x;
    } else
      return usage(msg, msg_len, "unknown option", k);
    if (bad) return usage(msg, msg_len, "bad value for", k);
  }
  if (opt_name != NULL) {
    int t;
    if (nn_parse_name(NN_NAMES_OPT, opt_name, &t) != NN_OK)
      return usage(msg, msg_len, "unknown optimizer", opt_name);
    nn_optim_defaults((nn_opt)t, &a->config.optim);
  }
  if (lr >= 0) a->config.optim.lr = (float)lr;
  if (wd >= 0) a->config.optim.weight_decay = (float)wd;
  if (momentum >= 0) a->config.optim.momentum = (float)momentum;
  if ((a->model_path == NULL) == (a->spec_text == NULL))
    return usage(msg, msg_len, "give one of --model and --spec", NULL);
  if (a->data_path == NULL) return usage(msg, msg_len, "--data is required", NULL);
  nn_error err;
  if (nn_train_config_validate(&a->config, &err) != NN_OK)
    return usage(msg, msg_len, err.message, NULL);
  return 0;
}

static int bad_item(nn_error *err, const char *item) {
  snprintf(err->field, sizeof err->field, "spec");
  snprintf(err->message, sizeof err->message, "spec: cannot read \"%.120s\"", item);
  return NN_EINVAL;
}

/* One ';'-separated item of a spec line. */
static int spec_item(char *item, nn_spec *s, nn_error *err) {
  char *val = strchr(item, '=');
  int v;
  if (val != NULL) {
    *val++ = '\0';
    if (strcmp(item, "inputs") == 0 && to_int(val, 1, NN_MAX_UNITS, &s->inputs) == 0) return NN_OK;
    if (strcmp(item, "loss") == 0 && nn_parse_name(NN_NAMES_LOSS, val, &v) == NN_OK) {
      s->loss = (nn_loss)v;
      return NN_OK;
    }
    if (strcmp(item, "seed") == 0) {
      char *end;
      s->seed = strtoull(val, &end, 10);
      if (end != val && *end == '\0') return NN_OK;
    }
    if (strcmp(item, "normalize") == 0 && to_int(val, 0, 1, &s->normalize) == 0) return NN_OK;
    return bad_item(err, item);
  }
  if (s->n_layers >= NN_MAX_LAYERS) return bad_item(err, "layers");
  nn_layer_spec *l = &s->layers[s->n_layers++];
  nn_layer_spec_defaults(l);
  char *save = NULL;
  char *kind = strtok_r(item, ":", &save), *a1 = strtok_r(NULL, ":", &save);
  char *a2 = strtok_r(NULL, ":", &save);
  double rate;
  if (kind != NULL && strcmp(kind, "dropout") == 0 && a1 != NULL && a2 == NULL &&
      to_double(a1, &rate) == 0) {
    l->type = NN_LAYER_DROPOUT;
    l->rate = (float)rate;
    return NN_OK;
  }
  if (kind != NULL && strcmp(kind, "dense") == 0 && a1 != NULL &&
      to_int(a1, 1, NN_MAX_UNITS, &l->units) == 0 &&
      (a2 == NULL || nn_parse_name(NN_NAMES_ACT, a2, &v) == NN_OK)) {
    l->type = NN_LAYER_DENSE;
    if (a2 != NULL) l->act = (nn_act)v;
    return NN_OK;
  }
  return bad_item(err, kind != NULL ? kind : "layer");
}

int job_spec_parse(const char *text, nn_spec *spec, nn_error *err) {
  memset(spec, 0, sizeof *spec);
  char *copy = strdup(text), *save = NULL;
  if (copy == NULL) return NN_ENOMEM;
  int rc = NN_OK;
  for (char *item = strtok_r(copy, ";", &save); item != NULL && rc == NN_OK;
       item = strtok_r(NULL, ";", &save))
    rc = spec_item(item, spec, err);
  free(copy);
  return rc != NN_OK ? rc : nn_spec_validate(spec, err);
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int bad_data(nn_error *err, const char *why) {
  snprintf(err->field, sizeof err->field, "data");
  snprintf(err->message, sizeof err->message, "data set: %s", why);
  return NN_EFORMAT;
}

int job_data_decode(const uint8_t *buf, size_t len, nn_data *d, nn_error *err) {
  if (len < DATA_HEADER || memcmp(buf, DATA_MAGIC, 4) != 0) return bad_data(err, "not a TRDS file");
  if (le32(buf + 4) != DATA_VERSION) return bad_data(err, "unsupported version");
  uint64_t rows = (uint64_t)le32(buf + 8) | (uint64_t)le32(buf + 12) << 32;
  uint32_t features = le32(buf + 16), outputs = le32(buf + 20), classes = le32(buf + 24);
  if (rows == 0 || rows > UINT32_MAX || features == 0 || features > NN_MAX_UNITS ||
      outputs == 0 || outputs > NN_MAX_UNITS || classes > NN_MAX_UNITS)
    return bad_data(err, "a size is zero or out of range");
  /* rows < 2^32 and widths <= 2^20: no product below overflows 64 bits */
  uint64_t x_bytes = rows * features * 4;
  uint64_t t_bytes = classes > 0 ? rows * 4 : rows * outputs * 4;
  if ((uint64_t)len - DATA_HEADER != x_bytes + t_bytes) return bad_data(err, "wrong length");
  *d = (nn_data){.rows = (size_t)rows, .features = (int)features, .outputs = (int)outputs,
                 .classes = (int)classes, .x = (const float *)(const void *)(buf + DATA_HEADER)};
  const void *t = buf + DATA_HEADER + x_bytes;
  if (classes > 0)
    d->labels = t;
  else
    d->y = t;
  return NN_OK;
}

int job_read_file(const char *path, uint8_t **buf, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  int rc = -1;
  *buf = NULL;
  if (fseek(f, 0, SEEK_END) != 0) goto out;
  long size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET) != 0) goto out;
  *buf = malloc(size > 0 ? (size_t)size : 1);
  if (*buf == NULL) goto out;
  if (fread(*buf, 1, (size_t)size, f) != (size_t)size) {
    errno = EIO;
    goto out;
  }
  *len = (size_t)size;
  rc = 0;
out:
  if (rc != 0) {
    free(*buf);
    *buf = NULL;
  }
  fclose(f);
  return rc;
}

int job_write_file(const char *path, const uint8_t *buf, size_t len) {
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
    errno = ENAMETOOLONG;
    return -1;
  }
  FILE *f = fopen(tmp, "wb");
  if (f == NULL) return -1;
  int ok = fwrite(buf, 1, len, f) == len;
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    remove(tmp);
    return -1;
  }
  return 0;
}
