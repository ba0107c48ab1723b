/* args.c — subcommand option parsing and the checks on option values. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tc.h"

int tc_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("trainctl: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\ntry 'trainctl %s--help'\n", cmd[0] != '\0' ? cmd : "");
  return TC_USAGE;
}

/* The option named by arg ("--name" or "--name=value"), or NULL. */
static const tc_option *find(const tc_option *opts, const char *arg, const char **inline_value) {
  for (const tc_option *o = opts; o->name != NULL; o++) {
    size_t len = strlen(o->name);
    if (strncmp(arg, o->name, len) != 0) continue;
    if (arg[len] == '\0') {
      *inline_value = NULL;
      return o;
    }
    if (arg[len] == '=') {
      *inline_value = arg + len + 1;
      return o;
    }
  }
  return NULL;
}

int tc_parse(int argc, char **argv, const tc_option *opts, const char **pos, int max_pos,
             int *n_pos, const char *cmd) {
  char hint[64];
  snprintf(hint, sizeof hint, "%s ", cmd);
  *n_pos = 0;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i], *value;
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return TC_HELP;
    if (arg[0] != '-' || arg[1] == '\0' || (arg[1] >= '0' && arg[1] <= '9')) {
      if (*n_pos == max_pos) return tc_usage_error(hint, "unexpected argument '%s'", arg);
      pos[(*n_pos)++] = arg;
      continue;
    }
    const tc_option *o = find(opts, arg, &value);
    if (o == NULL) return tc_usage_error(hint, "unknown option '%s'", arg);
    if (o->flag != NULL) {
      if (value != NULL) return tc_usage_error(hint, "%s takes no value", o->name);
      *o->flag = true;
      continue;
    }
    if (value == NULL) {
      if (i + 1 == argc) return tc_usage_error(hint, "%s needs a value", o->name);
      value = argv[++i];
    }
    *o->value = value;
  }
  return TC_OK;
}

int tc_parse_count(const char *cmd, const char *what, const char *text, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v <= 0)
    return tc_usage_error(cmd, "%s must be a positive integer, not '%s'", what, text);
  *out = v;
  return TC_OK;
}

int tc_parse_number(const char *cmd, const char *what, const char *text, double *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !isfinite(v))
    return tc_usage_error(cmd, "%s must be a number, not '%s'", what, text);
  *out = v;
  return TC_OK;
}

char *tc_read_file(const char *path) {
  size_t len;
  return tc_read_file_len(path, &len);
}

char *tc_read_file_len(const char *path, size_t *out_len) {
  char *text = NULL;
  size_t len = 0, cap = 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "trainctl: cannot open %s: %s\n", path, strerror(errno));
    return NULL;
  }
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      char *grown = realloc(text, cap + 1);
      if (grown == NULL) {
        fprintf(stderr, "trainctl: out of memory reading %s\n", path);
        goto fail;
      }
      text = grown;
    }
    size_t got = fread(text + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    fprintf(stderr, "trainctl: cannot read %s\n", path);
    goto fail;
  }
  text[len] = '\0';
  *out_len = len;
  fclose(f);
  return text;

fail:
  free(text);
  fclose(f);
  return NULL;
}

cJSON *tc_read_json_file(const char *path) {
  char *text = tc_read_file(path);
  if (text == NULL) return NULL;
  cJSON *doc = cJSON_ParseWithOpts(text, NULL, 1);
  if (doc == NULL) fprintf(stderr, "trainctl: %s is not valid JSON\n", path);
  free(text);
  return doc;
}
