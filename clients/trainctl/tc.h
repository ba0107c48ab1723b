/* tc.h — trainctl's shared pieces: the connection context, the HTTP wrapper,
 * option parsing, output formatting and the subcommand entry points. */
#ifndef TC_H
#define TC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

/* Exit codes: success, a server or job error, a usage error. */
enum { TC_OK = 0, TC_FAIL = 1, TC_USAGE = 2 };

/* tc_parse's answer when --help was given (the caller prints its help). */
#define TC_HELP (-1)

typedef struct tc_ctx {
  const char *server; /* base URL, e.g. "http://127.0.0.1:8080" (no trailing slash) */
  const char *token;  /* bearer token or NULL */
  const char *cacert; /* PEM file of CAs to trust for https, or NULL: the system's */
  bool json;          /* print the server's raw JSON instead of human output */
  CURL *curl;         /* one handle for every request, so polling reuses the connection */
} tc_ctx;

/* One answer from the server: its status, raw body and the body parsed. */
typedef struct tc_reply {
  long status;
  char *body;  /* NUL-terminated, possibly empty */
  size_t len;
  cJSON *json; /* NULL for an empty or non-JSON body */
} tc_reply;

/* ---- http.c ---------------------------------------------------------------- */

/* Sends method path (path includes any query) with an optional JSON body.
 * @return TC_OK with *reply filled for a 2xx answer; otherwise prints the
 *         server's error (or the connection failure) and returns TC_FAIL. */
int tc_request(tc_ctx *ctx, const char *method, const char *path, const char *json_body,
               tc_reply *reply);
/* POSTs the open file f to path as content_type, streamed as it is read. */
int tc_upload(tc_ctx *ctx, const char *path, FILE *f, const char *content_type,
              tc_reply *reply);
/* GETs path and writes the answer's bytes to file, opened only once the
 * whole answer arrived with a 2xx status (an error leaves file untouched). */
int tc_download(tc_ctx *ctx, const char *path, const char *file);
/* GETs path and writes the answer's bytes to file as they arrive, never
 * whole in memory (file is opened at the first byte of a 2xx answer; an
 * answer cut short leaves it partial, and TC_FAIL). */
int tc_download_to(tc_ctx *ctx, const char *path, const char *file);
void tc_reply_free(tc_reply *reply);
/* Called with each event of a stream; a nonzero answer ends the stream. */
typedef int (*tc_event_fn)(void *ud, long long id, const char *event, const char *data);
/* GETs the event stream at path (text/event-stream) and calls fn with each
 * event until the server ends it. @return TC_OK, or TC_FAIL after printing
 * the server's error or the connection's failure (fn ending it included). */
int tc_stream(tc_ctx *ctx, const char *path, tc_event_fn fn, void *ud);
/* Appends "&key=value" (or "?key=value" for the first) to path, value escaped.
 * @return 0, or -1 when path_size is too small. */
int tc_query_add(tc_ctx *ctx, char *path, size_t path_size, const char *key, const char *value);

/* ---- args.c ---------------------------------------------------------------- */

/* One option: `name` takes a value stored in *value, unless flag is set, in
 * which case it takes none and sets *flag. */
typedef struct tc_option {
  const char *name;
  const char **value;
  bool *flag;
} tc_option;

/* Parses argv (the subcommand's arguments) against opts (ending with a NULL
 * name); "--name value" and "--name=value" both work. Positional arguments go
 * to pos (at most max_pos; *n_pos gets the count).
 * @return TC_OK, TC_HELP for --help, or TC_USAGE after printing why. */
int tc_parse(int argc, char **argv, const tc_option *opts, const char **pos, int max_pos,
             int *n_pos, const char *cmd);
/* Prints "trainctl: <message>" and a hint at `trainctl cmd --help` to stderr.
 * @return TC_USAGE. */
int tc_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Parses a positive integer (an ID, a count) or returns TC_USAGE after saying
 * which argument (what) was wrong. */
int tc_parse_count(const char *cmd, const char *what, const char *text, long long *out);
/* Parses a finite number, or returns TC_USAGE. */
int tc_parse_number(const char *cmd, const char *what, const char *text, double *out);
/* Reads a whole file as a NUL-terminated string; prints why and returns NULL
 * on failure. The caller frees it. */
char *tc_read_file(const char *path);
/* The same, its length (the file may hold NUL bytes) in *len. */
char *tc_read_file_len(const char *path, size_t *len);
/* Reads and parses a JSON file; prints why and returns NULL on failure. */
cJSON *tc_read_json_file(const char *path);

/* ---- output.c -------------------------------------------------------------- */

/* A column of a table: its header and the key of each row object it shows. */
typedef struct tc_column {
  const char *header;
  const char *key;
} tc_column;

/* Formats a JSON value for humans: numbers short, null as "-", strings bare,
 * arrays and objects as compact JSON. */
void tc_format(const cJSON *v, char *buf, size_t size);
/* Prints the objects of rows as a table with aligned columns. */
int tc_print_table(const cJSON *rows, const tc_column *cols, size_t n_cols);
/* Prints every member of obj as "key: value", keys aligned. */
void tc_print_object(const cJSON *obj);
/* Prints the raw body of reply (the --json output). */
void tc_print_raw(const tc_reply *reply);
/* Prints reply as JSON (--json) or as key: value lines. */
void tc_print_show(const tc_ctx *ctx, const tc_reply *reply);

/* ---- csv.c: RFC 4180 files in and out ------------------------------------------ */

/* A CSV file read whole: rows of cells, every row as wide as the first. */
typedef struct tc_csv {
  char *text;     /* the file's bytes; the cells point into it, unquoted in place */
  char **cells;   /* (rows * cols) NUL-terminated cells, row by row */
  size_t *lines;  /* (rows,) the file line each row starts on, for messages */
  size_t rows, cols;
  char delim;     /* the separator: , ; tab or |, the first line's most frequent */
} tc_csv;

/* Reads path into *csv; prints what is wrong with it (and where) and returns
 * TC_FAIL, or TC_OK (then tc_csv_free it). */
int tc_csv_read(const char *path, tc_csv *csv);
void tc_csv_free(tc_csv *csv);
/* Writes cell to f as a CSV cell: quoted, quotes doubled, when it holds a
 * comma, a quote, CR or LF, or has spaces at either end; else as it is. */
void tc_csv_put(FILE *f, const char *cell);

/* ---- resource.c: what the groups share ---------------------------------------- */

/* A subcommand group over one collection of the API. */
typedef struct tc_resource {
  const char *group;       /* "datasets": the path /v1/datasets and the list's key */
  const char *noun;        /* "dataset" */
  const char *help;        /* the group's --help text */
  const tc_column *columns; /* the ls table */
  size_t n_columns;
} tc_resource;

typedef struct tc_subcommand {
  const char *name;
  int (*run)(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc, char **argv);
} tc_subcommand;

/* Prints the group's help. @return TC_OK */
int tc_help(const tc_resource *res);
/* GETs path (a list) and prints it as the group's table. */
int tc_list(tc_ctx *ctx, const tc_resource *res, const char *path);
/* Parses "SUB ID" arguments (argv after SUB). @return TC_OK, TC_HELP or TC_USAGE */
int tc_resource_id(const tc_resource *res, const char *sub, int argc, char **argv,
                   long long *id);
/* create FILE: POSTs the JSON file named by the one argument, as written (the
 * server names a faulty field), to path; what names the file in the usage
 * error ("SPEC.json"). @return TC_OK with reply filled (free it), TC_HELP
 * (help printed), or an error */
int tc_create_from_file(tc_ctx *ctx, const tc_resource *res, int argc, char **argv,
                        const char *path, const char *what, tc_reply *reply);
/* ls, show ID and rm ID of res. */
int tc_resource_common(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc,
                       char **argv);
/* Runs the subcommand argv[0] of subs (ending with a NULL name), or the help. */
int tc_group(tc_ctx *ctx, const tc_resource *res, const tc_subcommand *subs, int argc,
             char **argv);

/* ---- subcommands: argc/argv start after the group name ------------------------ */

int tc_cmd_datasets(tc_ctx *ctx, int argc, char **argv);
int tc_cmd_models(tc_ctx *ctx, int argc, char **argv);
int tc_cmd_jobs(tc_ctx *ctx, int argc, char **argv);
int tc_cmd_searches(tc_ctx *ctx, int argc, char **argv);
int tc_cmd_train(tc_ctx *ctx, int argc, char **argv);
int tc_cmd_watch(tc_ctx *ctx, int argc, char **argv);
int tc_cmd_predict(tc_ctx *ctx, int argc, char **argv);

/* Prints a search (GET /v1/searches/{id}) as its state and best trial, then
 * a row per trial (searches.c). @return tc_print_table's answer */
int tc_print_search(long long id, const cJSON *search);
/* searches watch ID (search_watch.c). */
int tc_search_watch(tc_ctx *ctx, const tc_resource *res, const char *sub, int argc,
                    char **argv);

/* Follows job_id until it ends (watch.c), printing progress.
 * @return TC_OK only when the job succeeded. */
int tc_follow(tc_ctx *ctx, long long job_id);

/* predict MODEL --dataset D -o FILE (batch.c): a batch prediction of version
 * (0: the newest) followed to its end, its output (format csv or jsonl)
 * written to out. @return TC_OK only when it succeeded and was written */
int tc_batch_predict(tc_ctx *ctx, long long model, long long version, const char *dataset,
                     const char *out, const char *format);

#endif
