/* http.c — the libcurl wrapper: one request, its status and its body parsed,
 * with the server's error JSON turned into one readable line. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tc.h"

static size_t collect(char *data, size_t size, size_t n, void *userdata) {
  tc_reply *reply = userdata;
  size_t add = size * n;
  char *grown = realloc(reply->body, reply->len + add + 1);
  if (grown == NULL) return 0; /* libcurl then fails the transfer */
  memcpy(grown + reply->len, data, add);
  reply->len += add;
  grown[reply->len] = '\0';
  reply->body = grown;
  return add;
}

static size_t read_file(char *buf, size_t size, size_t n, void *userdata) {
  size_t got = fread(buf, size, n, (FILE *)userdata);
  if (got == 0 && ferror((FILE *)userdata)) return CURL_READFUNC_ABORT;
  return got;
}

/* Prints "trainctl: <message> (field <field>)" from an error answer. */
static void print_server_error(const tc_reply *reply) {
  const cJSON *err = cJSON_GetObjectItemCaseSensitive(reply->json, "error");
  const cJSON *msg = cJSON_GetObjectItemCaseSensitive(err, "message");
  const cJSON *field = cJSON_GetObjectItemCaseSensitive(err, "field");
  if (!cJSON_IsString(msg)) {
    fprintf(stderr, "trainctl: the server answered HTTP %ld\n", reply->status);
    return;
  }
  if (cJSON_IsString(field) && field->valuestring[0] != '\0')
    fprintf(stderr, "trainctl: %s (field %s)\n", msg->valuestring, field->valuestring);
  else
    fprintf(stderr, "trainctl: %s\n", msg->valuestring);
}

/* Runs the request prepared on ctx->curl (method, body) against path; a 2xx
 * answer must be JSON unless binary (a file downloaded). write, when not
 * NULL, takes the body (with wdata) instead of reply. */
static int perform_to(tc_ctx *ctx, const char *path, const char *content_type, bool binary,
                      tc_reply *reply, curl_write_callback write, void *wdata) {
  char url[4096], auth[1024];
  struct curl_slist *headers = NULL;
  char errbuf[CURL_ERROR_SIZE] = "";
  int rc = TC_FAIL;
  memset(reply, 0, sizeof *reply);

  if ((size_t)snprintf(url, sizeof url, "%s%s", ctx->server, path) >= sizeof url) {
    fprintf(stderr, "trainctl: the request URL is too long\n");
    return TC_FAIL;
  }
  if (content_type != NULL) {
    char line[256];
    snprintf(line, sizeof line, "Content-Type: %s", content_type);
    headers = curl_slist_append(headers, line);
  }
  if (ctx->token != NULL) {
    if ((size_t)snprintf(auth, sizeof auth, "Authorization: Bearer %s", ctx->token) >=
        sizeof auth) {
      fprintf(stderr, "trainctl: the token is too long\n");
      goto exit;
    }
    headers = curl_slist_append(headers, auth);
  }
  curl_easy_setopt(ctx->curl, CURLOPT_URL, url);
  curl_easy_setopt(ctx->curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(ctx->curl, CURLOPT_WRITEFUNCTION, write != NULL ? write : collect);
  curl_easy_setopt(ctx->curl, CURLOPT_WRITEDATA, write != NULL ? wdata : reply);
  curl_easy_setopt(ctx->curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(ctx->curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(ctx->curl, CURLOPT_NOSIGNAL, 1L);
  if (ctx->cacert != NULL) curl_easy_setopt(ctx->curl, CURLOPT_CAINFO, ctx->cacert);

  CURLcode cc = curl_easy_perform(ctx->curl);
  if (cc != CURLE_OK) {
    fprintf(stderr, "trainctl: cannot reach the server at %s: %s\n", ctx->server,
            errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
    goto exit;
  }
  curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &reply->status);
  if (reply->len > 0) reply->json = cJSON_ParseWithLength(reply->body, reply->len);
  if (reply->status < 200 || reply->status >= 300) {
    print_server_error(reply);
    goto exit;
  }
  if (reply->len > 0 && reply->json == NULL && !binary) {
    fprintf(stderr, "trainctl: the server's answer is not JSON (HTTP %ld)\n", reply->status);
    goto exit;
  }
  rc = TC_OK;

exit:
  curl_slist_free_all(headers);
  curl_easy_reset(ctx->curl);
  if (rc != TC_OK) tc_reply_free(reply);
  return rc;
}

static int perform(tc_ctx *ctx, const char *path, const char *content_type, bool binary,
                   tc_reply *reply) {
  return perform_to(ctx, path, content_type, binary, reply, NULL, NULL);
}

/* ---- event streams ---------------------------------------------------------- */

typedef struct {
  tc_ctx *ctx;
  tc_reply *reply; /* an error answer's body */
  tc_event_fn fn;
  void *ud;
  char line[65536]; /* the line being read; a longer one is cut (its event is skipped) */
  size_t len;
  bool cut;
  long long id;
  char event[64];
  char *data; /* the event's data line, until the blank line that ends it */
} sse_state;

/* One complete line of the stream (text/event-stream framing). */
static int sse_line(sse_state *s) {
  const char *l = s->line;
  int rc = 0;
  if (s->cut) {
    free(s->data);
    s->data = NULL; /* an event with a cut line is not handed out */
  } else if (l[0] == '\0') {
    if (s->data != NULL) rc = s->fn(s->ud, s->id, s->event, s->data);
    free(s->data);
    s->data = NULL;
    s->event[0] = '\0';
  } else if (strncmp(l, "id: ", 4) == 0) {
    s->id = strtoll(l + 4, NULL, 10);
  } else if (strncmp(l, "event: ", 7) == 0) {
    snprintf(s->event, sizeof s->event, "%s", l + 7);
  } else if (strncmp(l, "data: ", 6) == 0) {
    free(s->data);
    s->data = strdup(l + 6);
    if (s->data == NULL) rc = -1;
  } /* comments (": keepalive") and other fields: nothing */
  s->len = 0;
  s->cut = false;
  return rc;
}

static size_t sse_write(char *data, size_t size, size_t n, void *userdata) {
  sse_state *s = userdata;
  size_t add = size * n;
  long status = 0;
  curl_easy_getinfo(s->ctx->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return collect(data, size, n, s->reply);
  for (size_t i = 0; i < add; i++) {
    if (data[i] == '\n') {
      s->line[s->len] = '\0';
      if (sse_line(s) != 0) return 0; /* libcurl then ends the transfer */
    } else if (data[i] != '\r') {
      if (s->len + 1 < sizeof s->line)
        s->line[s->len++] = data[i];
      else
        s->cut = true;
    }
  }
  return add;
}

int tc_stream(tc_ctx *ctx, const char *path, tc_event_fn fn, void *ud) {
  tc_reply reply;
  sse_state *s = calloc(1, sizeof *s);
  if (s == NULL) {
    fprintf(stderr, "trainctl: out of memory\n");
    return TC_FAIL;
  }
  s->ctx = ctx;
  s->reply = &reply;
  s->fn = fn;
  s->ud = ud;
  int rc = perform_to(ctx, path, NULL, true, &reply, sse_write, s);
  if (rc == TC_OK) tc_reply_free(&reply);
  free(s->data);
  free(s);
  return rc;
}

int tc_request(tc_ctx *ctx, const char *method, const char *path, const char *json_body,
               tc_reply *reply) {
  if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
    curl_easy_setopt(ctx->curl, CURLOPT_CUSTOMREQUEST, method);
  if (strcmp(method, "POST") == 0 || json_body != NULL) {
    const char *body = json_body != NULL ? json_body : "";
    curl_easy_setopt(ctx->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(ctx->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
  }
  /* A POST without a body (cancel) is typed JSON too: the daemon takes no
   * untyped writes, and libcurl would call it a form. */
  bool typed = json_body != NULL || strcmp(method, "POST") == 0;
  return perform(ctx, path, typed ? "application/json" : NULL, false, reply);
}

int tc_upload(tc_ctx *ctx, const char *path, FILE *f, const char *content_type,
              tc_reply *reply) {
  struct stat st;
  curl_easy_setopt(ctx->curl, CURLOPT_POST, 1L);
  curl_easy_setopt(ctx->curl, CURLOPT_READFUNCTION, read_file);
  curl_easy_setopt(ctx->curl, CURLOPT_READDATA, f);
  /* A regular file announces its length; a pipe goes chunked (-1). */
  curl_off_t size = -1;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) size = (curl_off_t)st.st_size;
  curl_easy_setopt(ctx->curl, CURLOPT_POSTFIELDSIZE_LARGE, size);
  return perform(ctx, path, content_type, false, reply);
}

int tc_download(tc_ctx *ctx, const char *path, const char *file) {
  tc_reply reply;
  int rc = perform(ctx, path, NULL, true, &reply);
  if (rc != TC_OK) return rc;
  FILE *f = fopen(file, "wb");
  if (f == NULL || fwrite(reply.body, 1, reply.len, f) != reply.len) {
    fprintf(stderr, "trainctl: cannot write %s\n", file);
    rc = TC_FAIL;
  }
  if (f != NULL && fclose(f) != 0 && rc == TC_OK) {
    fprintf(stderr, "trainctl: cannot write %s\n", file);
    rc = TC_FAIL;
  }
  tc_reply_free(&reply);
  return rc;
}

/* A download written to its file as it arrives (tc_download_to). */
typedef struct {
  tc_ctx *ctx;
  tc_reply *reply; /* an error answer's body */
  const char *file;
  FILE *f; /* opened at the first byte of a 2xx answer */
  bool failed;
} file_state;

static size_t file_write(char *data, size_t size, size_t n, void *userdata) {
  file_state *s = userdata;
  long status = 0;
  curl_easy_getinfo(s->ctx->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) return collect(data, size, n, s->reply);
  if (s->f == NULL && (s->f = fopen(s->file, "wb")) == NULL) s->failed = true;
  if (s->failed || fwrite(data, size, n, s->f) != n) {
    s->failed = true;
    return 0; /* libcurl then ends the transfer */
  }
  return size * n;
}

int tc_download_to(tc_ctx *ctx, const char *path, const char *file) {
  tc_reply reply;
  file_state s = {.ctx = ctx, .reply = &reply, .file = file};
  int rc = perform_to(ctx, path, NULL, true, &reply, file_write, &s);
  if (s.f == NULL && rc == TC_OK && !s.failed) s.f = fopen(file, "wb"); /* an empty answer */
  if (s.f == NULL || fclose(s.f) != 0 || s.failed) {
    if (rc == TC_OK || s.failed) fprintf(stderr, "trainctl: cannot write %s\n", file);
    rc = TC_FAIL;
  }
  if (rc == TC_OK) tc_reply_free(&reply);
  return rc;
}

void tc_reply_free(tc_reply *reply) {
  cJSON_Delete(reply->json);
  free(reply->body);
  memset(reply, 0, sizeof *reply);
}

int tc_query_add(tc_ctx *ctx, char *path, size_t path_size, const char *key, const char *value) {
  char *escaped = curl_easy_escape(ctx->curl, value, 0);
  if (escaped == NULL) return -1;
  size_t used = strlen(path);
  int n = snprintf(path + used, path_size - used, "%c%s=%s", strchr(path, '?') ? '&' : '?',
                   key, escaped);
  curl_free(escaped);
  return n < 0 || (size_t)n >= path_size - used ? -1 : 0;
}
