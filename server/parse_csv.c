/* parse_csv.c — a CSV data set parsed as it streams in, chunk by chunk. */
#include "parse_csv.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/table.h"
#include "intern.h"
#include "parse_table.h"
#include "utf8.h"

static const char utf8_bom[] = "\xEF\xBB\xBF";

typedef enum { CELL_START, CELL_PLAIN, CELL_QUOTED, CELL_QUOTE_SEEN } cell_state;

struct parse_csv {
  interner targets;   /* target column names, in the order given */
  interner columns;   /* header names, in column order (ids are column indices) */
  int *slot;          /* (columns,) feature index >= 0, or -1 - target index */
  int header_done;
  int features;
  int bom_matched;    /* leading bytes that matched a UTF-8 byte order mark */
  int bom_done;       /* the stream is past where a byte order mark may be */
  cell_state state;
  int after_cr;       /* the last record ended with CR: an LF next belongs to it */
  int quoted;         /* the current cell opened with a quote */
  int col;            /* column of the current cell */
  size_t cell_len;
  unsigned char high;  /* the cell's bytes or'ed: bit 7 clear, it is ASCII */
  char cell[PARSE_CSV_MAX_CELL + 1];
  size_t rows;        /* complete data rows */
  size_t cap;         /* rows the arrays below can hold */
  float *x;           /* (cap, features) */
  float *y;           /* (cap, targets): several target columns */
  int32_t *ids;       /* (cap,): one target column, its cells interned in text */
  interner text;
  int target_numeric; /* every cell of the one target column so far is a number */
  int failed;         /* status of the first error (or of a finished parse),
                         repeated by later calls */
  api_error error;
  /* A typed table (parse_csv_typed): every cell goes into it as it comes
   * (columns of doubles or dictionary codes, never the body's text). While
   * every feature cell is a number the body may still end as numbers: the
   * target's cells are interned as above (ids, text), and the end gathers
   * the table's columns as floats (parse_table_take_numbers). */
  parse_table *typed;
  int numeric_dead;        /* a cell was no number: the body ends as a table */
  int table_lost;          /* the header was more than a table takes (columns,
                              name length): numbers or nothing, and the first
                              cell that is no number fails with table_error */
  api_error table_error;
  int over_cap;            /* the target passed PARSE_MAX_CLASSES: fatal either way */
  char delim;              /* the cell separator; 0 while sniffed */
  char *head;              /* the header line held back to sniff it */
  size_t head_len, head_cap;
  int head_quoted;         /* inside quotes in the held header line */
};

/* Where the parser is, for errors: "header", "row 7" or "row 7, column x". */
static void where(const parse_csv *p, int with_column, char *buf, size_t cap) {
  if (!p->header_done)
    snprintf(buf, cap, "header");
  else if (with_column && p->col < p->columns.n)
    snprintf(buf, cap, "row %zu, column %s", p->rows + 1, p->columns.names[p->col]);
  else
    snprintf(buf, cap, "row %zu", p->rows + 1);
}

static int fail_at(const parse_csv *p, int with_column, api_error *err, const char *what) {
  char field[PARSE_PATH_MAX];
  where(p, with_column, field, sizeof field);
  return api_fail(err, API_INVALID_ARGUMENT, field, "%s %s", field, what);
}

int parse_csv_new(const char *target, parse_csv **out, api_error *err) {
  *out = NULL;
  parse_csv *p = calloc(1, sizeof *p);
  if (p == NULL) return parse_out_of_memory(err);
  p->target_numeric = 1;
  p->delim = ',';
  int rc = 0;
  if (target == NULL || target[0] == '\0')
    rc = api_fail(err, API_INVALID_ARGUMENT, "target", "target is required");
  for (const char *s = target; rc == 0;) {
    size_t len = strcspn(s, ",");
    int32_t id, known = p->targets.n;
    if (len == 0 || len > PARSE_CSV_MAX_CELL || p->targets.n == PARSE_CSV_MAX_COLUMNS)
      rc = api_fail(err, API_INVALID_ARGUMENT, "target",
                    "target must be a comma-separated list of column names");
    else if (intern_add(&p->targets, s, len, &id) != 0)
      rc = parse_out_of_memory(err);
    else if (p->targets.n == known) /* not added: named before */
      rc = api_fail(err, API_INVALID_ARGUMENT, "target", "target names column %s twice",
                    p->targets.names[id]);
    if (s[len] == '\0') break;
    s += len + 1;
  }
  if (rc != 0) {
    parse_csv_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

static int finish_header(parse_csv *p, api_error *err) {
  int n = p->columns.n;
  p->slot = malloc((size_t)n * sizeof *p->slot);
  if (p->slot == NULL) return parse_out_of_memory(err);
  for (int c = 0; c < n; c++) p->slot[c] = 0;
  for (int32_t t = 0; t < p->targets.n; t++) {
    const char *name = p->targets.names[t];
    int32_t c = intern_find(&p->columns, name, strlen(name));
    if (c < 0)
      return api_fail(err, API_INVALID_ARGUMENT, "target", "target column %s is not in the header",
                      name);
    p->slot[c] = -1 - t;
  }
  for (int c = 0; c < n; c++)
    if (p->slot[c] >= 0) p->slot[c] = p->features++;
  if (p->features == 0)
    return api_fail(err, API_INVALID_ARGUMENT, "target", "every column is a target: no features");
  p->header_done = 1;
  return p->typed != NULL ? parse_table_header(p->typed, err) : 0;
}

/* Room for one more data row (a typed table's numbers keep the target's
 * ids only: its features are the table's columns). */
static int reserve_row(parse_csv *p, api_error *err) {
  if (p->rows < p->cap) return 0;
  size_t width = (size_t)(p->features > p->targets.n ? p->features : p->targets.n);
  size_t limit = PARSE_DATASET_MAX_VALUES / width;
  size_t cap = p->cap ? 2 * p->cap : 64;
  if (cap > limit) cap = limit;
  if (cap <= p->rows) {
    char what[64];
    snprintf(what, sizeof what, "exceeds the limit of %zu values", PARSE_DATASET_MAX_VALUES);
    return fail_at(p, 0, err, what);
  }
  if (p->typed == NULL) {
    float *x = realloc(p->x, parse_matrix_bytes(cap, (size_t)p->features));
    if (x == NULL) return parse_out_of_memory(err);
    p->x = x;
  }
  if (p->targets.n > 1) {
    float *y = realloc(p->y, parse_matrix_bytes(cap, (size_t)p->targets.n));
    if (y == NULL) return parse_out_of_memory(err);
    p->y = y;
  } else {
    int32_t *ids = realloc(p->ids, cap * sizeof *ids);
    if (ids == NULL) return parse_out_of_memory(err);
    p->ids = ids;
  }
  p->cap = cap;
  return 0;
}

static int header_cell(parse_csv *p, api_error *err) {
  const char *name = p->cell;
  size_t len = p->cell_len;
  int32_t id;
  if (p->col >= PARSE_CSV_MAX_COLUMNS) {
    char what[64];
    snprintf(what, sizeof what, "has more than %d columns", PARSE_CSV_MAX_COLUMNS);
    return fail_at(p, 0, err, what);
  }
  if (len == 0) return fail_at(p, 0, err, "has a column without a name");
  if (utf8_check(name, len, NULL) != 0)
    return fail_at(p, 0, err, "has a column name that is not UTF-8");
  /* A second byte order mark (feed skips the first) would hide in the name. */
  if (len >= 3 && memcmp(name, utf8_bom, 3) == 0) {
    char what[PARSE_PATH_MAX];
    snprintf(what, sizeof what, "column %d (%.64s) starts with a byte order mark", p->col + 1,
             name + 3);
    return fail_at(p, 0, err, what);
  }
  if (intern_add(&p->columns, name, len, &id) != 0) return parse_out_of_memory(err);
  if (id != p->col) {
    char what[PARSE_PATH_MAX];
    snprintf(what, sizeof what, "names column %s twice", p->columns.names[id]);
    return fail_at(p, 0, err, what);
  }
  if (p->typed == NULL) return 0;
  int rc = parse_table_column(p->typed, name, len, "header", err);
  if (rc == -API_INVALID_ARGUMENT && !p->numeric_dead) { /* numbers may still do */
    p->table_error = *err;
    p->table_lost = 1;
    parse_table_free(p->typed);
    p->typed = NULL;
    return 0;
  }
  return rc;
}

/* The cell of the one target column: interned until the end decides between
 * regression and classification. */
static int target_cell(parse_csv *p, api_error *err) {
  float v;
  if (p->cell_len == 0) return fail_at(p, 1, err, "is empty");
  if (p->cell_len > PARSE_CLASS_NAME_MAX) {
    char what[64];
    snprintf(what, sizeof what, "is longer than %d bytes", PARSE_CLASS_NAME_MAX);
    return fail_at(p, 1, err, what);
  }
  /* Class names are stored and answered in JSON, which is UTF-8. */
  if (utf8_check(p->cell, p->cell_len, NULL) != 0) return fail_at(p, 1, err, "is not UTF-8");
  if (p->target_numeric && parse_text_to_float(p->cell, &v) != 0) p->target_numeric = 0;
  if (intern_add(&p->text, p->cell, p->cell_len, &p->ids[p->rows]) != 0)
    return parse_out_of_memory(err);
  /* Numbers may take any count of values (regression); names are classes,
   * refused at the cell where they pass the cap or where a name makes the
   * values of the rows before it classes too. */
  if (!p->target_numeric && p->text.n > PARSE_MAX_CLASSES) {
    char what[96];
    snprintf(what, sizeof what, "makes %d classes; a dataset may have at most %d",
             (int)p->text.n, PARSE_MAX_CLASSES);
    p->over_cap = 1; /* a table takes fewer classes still: no way on */
    return fail_at(p, 1, err, what);
  }
  return 0;
}

/* A cell of a data row: a feature or target number, or the one target's text. */
static int numeric_cell(parse_csv *p, api_error *err) {
  int s = p->slot[p->col];
  if (s >= 0) {
    if (parse_text_to_float(p->cell, &p->x[p->rows * (size_t)p->features + (size_t)s]) == 0) return 0;
    return fail_at(p, 1, err, "must be a number");
  }
  if (p->targets.n == 1) return target_cell(p, err);
  if (parse_text_to_float(p->cell, &p->y[p->rows * (size_t)p->targets.n + (size_t)(-1 - s)]) == 0)
    return 0;
  return fail_at(p, 1, err, "must be a number (with several target columns all are numeric)");
}

/* The body cannot end as numbers: it ends as the typed table. */
static void numbers_end(parse_csv *p) {
  p->numeric_dead = 1;
  free(p->ids);
  p->ids = NULL;
  intern_free(&p->text);
}

/* A cell of a data row into the typed table, and whether the body can still
 * end as numbers (what numeric_cell would say, from the table's reading). */
static int typed_cell(parse_csv *p, api_error *err) {
  if ((p->high & 0x80) && utf8_check(p->cell, p->cell_len, NULL) != 0)
    return fail_at(p, 1, err, "is not UTF-8");
  int rc = parse_table_cell(p->typed, p->col, p->cell, p->cell_len, NULL, err);
  if (rc == -API_INVALID_ARGUMENT) { /* named here: formatted only on a refusal */
    char message[sizeof err->message], field[PARSE_PATH_MAX];
    memcpy(message, err->message, sizeof message);
    where(p, 1, field, sizeof field);
    return api_fail(err, API_INVALID_ARGUMENT, field, "%s: %s", field, message);
  }
  if (rc != 0 || p->numeric_dead) return rc;
  if (p->col == 0 && (rc = reserve_row(p, err)) != 0) {
    if (rc != -API_INVALID_ARGUMENT) return rc;
    numbers_end(p); /* past the values a numeric set may hold */
    return 0;
  }
  double v;
  if (p->slot[p->col] >= 0) {
    /* a decimal within float range, as parse_text_to_float reads it */
    if (!parse_table_cell_number(p->typed, p->col, &v) || fabs(v) > FLT_MAX) numbers_end(p);
    return 0;
  }
  rc = target_cell(p, err);
  if (rc == -API_INVALID_ARGUMENT && !p->over_cap) {
    numbers_end(p);
    return 0;
  }
  return rc;
}

/* A cell of a data row: to the typed table, or to the numbers alone. */
static int data_cell(parse_csv *p, api_error *err) {
  if (p->typed != NULL) return typed_cell(p, err);
  int rc = p->col == 0 ? reserve_row(p, err) : 0;
  if (rc == 0) rc = numeric_cell(p, err);
  if (rc == -API_INVALID_ARGUMENT && p->table_lost && !p->over_cap)
    *err = p->table_error; /* a table would have been refused at its header */
  return rc;
}

static int end_cell(parse_csv *p, api_error *err) {
  p->cell[p->cell_len] = '\0';
  int rc;
  if (!p->header_done) {
    rc = header_cell(p, err);
  } else if (p->col >= p->columns.n) {
    char what[64];
    snprintf(what, sizeof what, "has more than the header's %d columns", p->columns.n);
    rc = fail_at(p, 0, err, what);
  } else {
    rc = data_cell(p, err);
  }
  p->cell_len = 0;
  p->high = 0;
  p->quoted = 0;
  return rc;
}

static int end_record(parse_csv *p, api_error *err) {
  if (p->col == 0 && p->cell_len == 0 && !p->quoted) return 0; /* a blank line */
  int rc = end_cell(p, err);
  if (rc == 0 && !p->header_done) {
    rc = finish_header(p, err);
  } else if (rc == 0) {
    if (p->col + 1 != p->columns.n) {
      char what[64];
      snprintf(what, sizeof what, "has %d columns where the header has %d", p->col + 1,
               p->columns.n);
      return fail_at(p, 0, err, what);
    }
    p->rows++;
    if (p->typed != NULL) rc = parse_table_end_row(p->typed, err);
  }
  p->col = 0;
  return rc;
}

static int append(parse_csv *p, char c, api_error *err) {
  if (c == '\0') return fail_at(p, 1, err, "holds a NUL byte");
  if (p->cell_len == PARSE_CSV_MAX_CELL) {
    char what[64];
    snprintf(what, sizeof what, "is longer than %d bytes", PARSE_CSV_MAX_CELL);
    return fail_at(p, 1, err, what);
  }
  p->cell[p->cell_len++] = c;
  p->high |= (unsigned char)c;
  return 0;
}

/* One byte of the CSV grammar. */
static int lex(parse_csv *p, char c, api_error *err) {
  if (p->after_cr) {
    p->after_cr = 0;
    if (c == '\n') return 0;
  }
  switch (p->state) {
  case CELL_QUOTED:
    if (c != '"') return append(p, c, err);
    p->state = CELL_QUOTE_SEEN;
    return 0;
  case CELL_QUOTE_SEEN:
    if (c == '"') { /* "" inside quotes is one quote */
      p->state = CELL_QUOTED;
      return append(p, c, err);
    }
    /* Only a separator may follow the closing quote; it ends the cell. */
    if (c != p->delim && c != '\n' && c != '\r')
      return fail_at(p, 1, err, "has text after its closing quote");
    /* fall through */
  case CELL_START:
  case CELL_PLAIN:
    break;
  }
  int rc = 0;
  if (c == p->delim) {
    rc = end_cell(p, err);
    p->col++;
    p->state = CELL_START;
  } else if (c == '\n' || c == '\r') {
    rc = end_record(p, err);
    p->after_cr = c == '\r';
    p->state = CELL_START;
  } else if (c == '"' && p->state == CELL_START) {
    p->quoted = 1;
    p->state = CELL_QUOTED;
  } else if (c == '"') {
    rc = fail_at(p, 1, err, "has a quote inside an unquoted cell");
  } else {
    rc = append(p, c, err);
    p->state = CELL_PLAIN;
  }
  return rc;
}

static int sniff(parse_csv *p, char c, api_error *err);

/* The stream is past a byte order mark, or holds none: the bytes that
 * matched part of one were data after all. */
static int end_bom(parse_csv *p, api_error *err) {
  int rc = 0;
  p->bom_done = 1;
  for (int k = 0; k < p->bom_matched && rc == 0; k++)
    rc = p->delim == 0 ? sniff(p, utf8_bom[k], err) : lex(p, utf8_bom[k], err);
  return rc;
}

/* The header line is held back: the separator is the one of , ; tab | it
 * holds most often outside quotes (a comma when it holds none), then the
 * line is read as any other. */
static int sniff_end(parse_csv *p, api_error *err) {
  static const char candidates[] = {',', ';', '\t', '|'};
  size_t best = 0;
  int quoted = 0;
  p->delim = ',';
  for (size_t k = 0; k < sizeof candidates; k++) {
    size_t n = 0;
    quoted = 0;
    for (size_t i = 0; i < p->head_len; i++) {
      if (p->head[i] == '"') quoted = !quoted;
      n += !quoted && p->head[i] == candidates[k];
    }
    if (n > best) best = n, p->delim = candidates[k];
  }
  int rc = 0;
  for (size_t i = 0; i < p->head_len && rc == 0; i++) rc = lex(p, p->head[i], err);
  free(p->head);
  p->head = NULL;
  return rc;
}

static int sniff(parse_csv *p, char c, api_error *err) {
  if (p->head_len == p->head_cap) {
    if (p->head_cap >= PARSE_TABLE_MAX_HEADER) { /* a header this long is read as is */
      int rc = sniff_end(p, err);
      return rc != 0 ? rc : lex(p, c, err);
    }
    size_t cap = p->head_cap ? 2 * p->head_cap : 4096;
    char *head = realloc(p->head, cap);
    if (head == NULL) return parse_out_of_memory(err);
    p->head = head;
    p->head_cap = cap;
  }
  p->head[p->head_len++] = c;
  if (c == '"') p->head_quoted = !p->head_quoted;
  return !p->head_quoted && (c == '\n' || c == '\r') ? sniff_end(p, err) : 0;
}

/* The bytes of an unquoted cell up to the next one lex must see (a
 * separator, a quote, a line end, NUL), appended at once: what lex would do
 * byte by byte, a third of the parse's time. A run that would pass the cell
 * limit is left to lex, which refuses it. @return the bytes taken */
static size_t plain_run(parse_csv *p, const char *s, size_t n) {
  size_t k = 0, room = PARSE_CSV_MAX_CELL - p->cell_len;
  const char d = p->delim;
  unsigned char high = 0;
  if (n > room) n = room;
  while (k < n && s[k] != d && s[k] != '"' && s[k] != '\n' && s[k] != '\r' && s[k] != '\0')
    high |= (unsigned char)s[k++];
  if (k == 0) return 0;
  p->high |= high;
  memcpy(p->cell + p->cell_len, s, k);
  p->cell_len += k;
  p->state = CELL_PLAIN;
  return k;
}

static int feed(parse_csv *p, const char *data, size_t len, api_error *err) {
  int rc = 0;
  for (size_t i = 0; i < len && rc == 0; i++) {
    if (!p->bom_done) { /* spreadsheets start their CSV with one */
      if (data[i] == utf8_bom[p->bom_matched]) {
        if (++p->bom_matched == 3) p->bom_done = 1;
        continue;
      }
      rc = end_bom(p, err);
    } else if (p->delim != 0 && !p->after_cr &&
               (p->state == CELL_START || p->state == CELL_PLAIN)) {
      i += plain_run(p, data + i, len - i);
      if (i == len) break;
    }
    if (rc == 0) rc = p->delim == 0 ? sniff(p, data[i], err) : lex(p, data[i], err);
  }
  return rc;
}

/* Move the arrays into out, deciding the task of a single target column. */
static int hand_over(parse_csv *p, parse_dataset_out *out, api_error *err) {
  out->rows = p->rows;
  out->features = p->features;
  if (p->targets.n > 1 || p->target_numeric) {
    out->task = PARSE_TASK_REGRESSION;
    out->outputs = p->targets.n;
    if (p->targets.n > 1) {
      out->y = p->y;
      p->y = NULL;
    } else {
      float *value = malloc((size_t)p->text.n * sizeof *value); /* (distinct,) */
      out->y = malloc(p->rows * sizeof *out->y);                /* (rows, 1) */
      if (value == NULL || out->y == NULL) {
        free(value);
        return parse_out_of_memory(err);
      }
      for (int32_t k = 0; k < p->text.n; k++) parse_text_to_float(p->text.names[k], &value[k]);
      for (size_t i = 0; i < p->rows; i++) out->y[i] = value[p->ids[i]];
      free(value);
    }
  } else {
    out->task = PARSE_TASK_CLASSIFICATION;
    assert(p->text.n <= PARSE_MAX_CLASSES); /* target_cell refused more */
    if (intern_take_sorted(&p->text, p->ids, p->rows, &out->classes, &out->n_classes) != 0) return parse_out_of_memory(err);
    out->labels = p->ids;
    p->ids = NULL;
    out->outputs = out->n_classes;
  }
  out->x = p->x;
  p->x = NULL;
  return 0;
}

static int finish(parse_csv *p, parse_dataset_out *out, api_error *err) {
  int rc = p->bom_done ? 0 : end_bom(p, err);
  if (rc == 0 && p->delim == 0) rc = sniff_end(p, err);
  if (rc == 0 && p->state == CELL_QUOTED)
    rc = fail_at(p, 1, err, "has a quote that is never closed");
  else if (rc == 0)
    rc = end_record(p, err); /* the last line may lack its line end */
  if (rc == 0 && !p->header_done)
    rc = api_fail(err, API_INVALID_ARGUMENT, NULL, "the CSV body is empty");
  if (rc == 0 && p->rows == 0)
    rc = api_fail(err, API_INVALID_ARGUMENT, NULL, "the CSV has a header but no data rows");
  if (rc != 0) return rc;
  if (p->typed != NULL && p->numeric_dead) return parse_table_finish(p->typed, out, err);
  /* numbers all through stay a numeric dataset, as before tables were */
  if (p->typed != NULL) {
    int target = intern_find(&p->columns, p->targets.names[0], strlen(p->targets.names[0]));
    rc = parse_table_take_numbers(p->typed, target, &p->x, err);
    parse_table_free(p->typed); /* its columns are p->x now */
    p->typed = NULL;
    if (rc != 0) return rc;
  }
  return hand_over(p, out, err);
}

int parse_csv_typed(parse_csv *p, const parse_table_options *o, api_error *err) {
  assert(p->typed == NULL && !p->header_done && p->rows == 0);
  if (p->targets.n != 1) { /* a table has one target column */
    if (parse_table_options_given(o))
      return api_fail(err, API_INVALID_ARGUMENT, "target",
                      "ignore, types, na_values and delimiter need a single target column");
    return 0;
  }
  int rc = parse_table_new(o, p->targets.names[0], &p->typed, err);
  if (rc != 0) return rc;
  p->delim = o->delimiter;
  /* asked for what only a table does: a table from the first byte */
  if (parse_table_options_given(o)) numbers_end(p);
  return 0;
}

int parse_csv_feed(parse_csv *p, const char *data, size_t len, api_error *err) {
  if (p->failed == 0) p->failed = feed(p, data, len, &p->error);
  if (p->failed != 0 && err != NULL) *err = p->error;
  return p->failed;
}

int parse_csv_finish(parse_csv *p, parse_dataset_out *out, api_error *err) {
  memset(out, 0, sizeof *out);
  if (p->failed == 0) {
    p->failed = finish(p, out, &p->error);
    if (p->failed == 0) { /* the data now belongs to out: no second hand-over */
      p->failed = api_fail(&p->error, API_INTERNAL, NULL, "the CSV parse has finished");
      return 0;
    }
  }
  parse_dataset_out_free(out);
  if (err != NULL) *err = p->error;
  return p->failed;
}

void parse_csv_free(parse_csv *p) {
  if (p == NULL) return;
  intern_free(&p->targets);
  intern_free(&p->columns);
  intern_free(&p->text);
  free(p->slot);
  free(p->x);
  free(p->y);
  free(p->ids);
  free(p->head);
  parse_table_free(p->typed);
  free(p);
}
