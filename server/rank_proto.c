/*
 * rank_proto.c — the worker <-> rank 0 messages (rank_proto.h): framing,
 * CRCs, and the payloads of JOB, EPOCH and PAUSED written field by field,
 * little-endian, so that nothing depends on a struct's layout.
 */
#include "rank_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- little-endian fields ------------------------------------------------------ */

typedef struct {
  uint8_t *p;
  size_t at;
} wbuf;

static void put32(wbuf *w, uint32_t v) {
  for (int i = 0; i < 4; i++) w->p[w->at++] = (uint8_t)(v >> (8 * i));
}
static void put64(wbuf *w, uint64_t v) {
  put32(w, (uint32_t)v);
  put32(w, (uint32_t)(v >> 32));
}
static void putf(wbuf *w, float f) {
  uint32_t v;
  memcpy(&v, &f, 4);
  put32(w, v);
}
static void putd(wbuf *w, double d) {
  uint64_t v;
  memcpy(&v, &d, 8);
  put64(w, v);
}
static void putbytes(wbuf *w, const uint8_t *b, size_t n) {
  if (n > 0) memcpy(w->p + w->at, b, n);
  w->at += n;
}

/* A reader that fails once past its end and then reads zeros. */
typedef struct {
  const uint8_t *p;
  size_t len, at;
  int bad;
} rbuf;

static const uint8_t *take(rbuf *r, size_t n) {
  if (r->bad || r->len - r->at < n) {
    r->bad = 1;
    return NULL;
  }
  const uint8_t *b = r->p + r->at;
  r->at += n;
  return b;
}
static uint32_t get32(rbuf *r) {
  const uint8_t *b = take(r, 4);
  return b == NULL ? 0
                   : (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                         (uint32_t)b[3] << 24;
}
static uint64_t get64(rbuf *r) {
  uint64_t lo = get32(r);
  return lo | (uint64_t)get32(r) << 32;
}
static int32_t geti(rbuf *r) {
  uint32_t v = get32(r);
  int32_t i;
  memcpy(&i, &v, 4);
  return i;
}
static float getf(rbuf *r) {
  uint32_t v = get32(r);
  float f;
  memcpy(&f, &v, 4);
  return f;
}
static double getd(rbuf *r) {
  uint64_t v = get64(r);
  double d;
  memcpy(&d, &v, 8);
  return d;
}

/* ---- the header ------------------------------------------------------------------ */

void rp_header_encode(uint8_t out[RP_HEADER], rp_type type, const uint8_t *payload, uint64_t len) {
  wbuf w = {out, 0};
  putbytes(&w, (const uint8_t *)"TRMP", 4);
  put32(&w, (uint32_t)RP_VERSION | (uint32_t)type << 16);
  put64(&w, len);
  put32(&w, len > 0 ? nn_crc32(0, payload, (size_t)len) : 0);
  put32(&w, nn_crc32(0, out, 20));
}

/* The most a payload of each type may hold. */
static uint64_t max_len(rp_type t) {
  switch (t) {
  case RP_JOB:
  case RP_EPOCH:
  case RP_PAUSED:
    return RP_MAX_PAYLOAD;
  case RP_HELLO:
  case RP_ERROR:
    return 4096;
  default:
    return 0;
  }
}

int rp_header_decode(const uint8_t in[RP_HEADER], rp_header *h) {
  rbuf r = {in, RP_HEADER, 0, 0};
  if (memcmp(in, "TRMP", 4) != 0) return RP_EBAD;
  r.at = 4;
  uint32_t vt = get32(&r);
  uint64_t len = get64(&r);
  uint32_t crc = get32(&r), hcrc = get32(&r);
  if (hcrc != nn_crc32(0, in, 20) || (vt & 0xffff) != RP_VERSION) return RP_EBAD;
  uint32_t type = vt >> 16;
  if (type < RP_HELLO || type >= RP_TYPE_END || len > max_len((rp_type)type)) return RP_EBAD;
  *h = (rp_header){(rp_type)type, len, crc};
  return RP_OK;
}

int rp_payload_check(const rp_header *h, const uint8_t *payload) {
  uint32_t crc = h->len > 0 ? nn_crc32(0, payload, (size_t)h->len) : 0;
  return crc == h->crc ? RP_OK : RP_EBAD;
}

/* ---- JOB ------------------------------------------------------------------------- */

static void put_config(wbuf *w, const nn_train_config *c) {
  put32(w, (uint32_t)c->epochs);
  put32(w, (uint32_t)c->batch_size);
  put32(w, (uint32_t)c->shuffle);
  putf(w, c->validation_split);
  put64(w, c->seed);
  put32(w, (uint32_t)c->optim.type);
  putf(w, c->optim.lr);
  putf(w, c->optim.momentum);
  put32(w, (uint32_t)c->optim.nesterov);
  putf(w, c->optim.beta1);
  putf(w, c->optim.beta2);
  putf(w, c->optim.eps);
  putf(w, c->optim.alpha);
  putf(w, c->optim.weight_decay);
  put32(w, (uint32_t)c->sched.type);
  put32(w, (uint32_t)c->sched.step_size);
  putf(w, c->sched.gamma);
  putf(w, c->sched.min_lr);
  putf(w, c->clip_norm);
  put32(w, (uint32_t)c->patience);
  putf(w, c->min_delta);
  put32(w, (uint32_t)c->diagnostics);
}

/* Enumerations are range-checked here; the values are
 * nn_train_config_validate's to judge. */
static int get_config(rbuf *r, nn_train_config *c) {
  memset(c, 0, sizeof *c);
  c->epochs = geti(r);
  c->batch_size = geti(r);
  c->shuffle = geti(r);
  c->validation_split = getf(r);
  c->seed = get64(r);
  uint32_t opt = get32(r);
  c->optim.lr = getf(r);
  c->optim.momentum = getf(r);
  c->optim.nesterov = geti(r);
  c->optim.beta1 = getf(r);
  c->optim.beta2 = getf(r);
  c->optim.eps = getf(r);
  c->optim.alpha = getf(r);
  c->optim.weight_decay = getf(r);
  uint32_t sched = get32(r);
  c->sched.step_size = geti(r);
  c->sched.gamma = getf(r);
  c->sched.min_lr = getf(r);
  c->clip_norm = getf(r);
  c->patience = geti(r);
  c->min_delta = getf(r);
  c->diagnostics = geti(r);
  if (opt > NN_OPT_RMSPROP || sched > NN_SCHED_COSINE) return RP_EBAD;
  c->optim.type = (nn_opt)opt;
  c->sched.type = (nn_sched)sched;
  return r->bad ? RP_EBAD : RP_OK;
}

int rp_job_encode(const rp_job *j, uint8_t **out, size_t *len) {
  size_t n = RP_CONFIG_BYTES + 4 + 4 + 8 + j->model_len + j->data_len;
  if (n < j->model_len) return RP_ENOMEM; /* cannot overflow with real buffers */
  wbuf w = {malloc(n), 0};
  if (w.p == NULL) return RP_ENOMEM;
  put_config(&w, &j->config);
  put32(&w, (uint32_t)j->checkpoint_every);
  put32(&w, (uint32_t)j->ranks);
  put64(&w, j->model_len);
  putbytes(&w, j->model, j->model_len);
  putbytes(&w, j->data, j->data_len);
  *out = w.p;
  *len = w.at;
  return RP_OK;
}

int rp_job_decode(const uint8_t *payload, size_t len, rp_job *j) {
  rbuf r = {payload, len, 0, 0};
  if (get_config(&r, &j->config) != RP_OK) return RP_EBAD;
  j->checkpoint_every = geti(&r);
  j->ranks = geti(&r);
  uint64_t model_len = get64(&r);
  if (r.bad || j->checkpoint_every < 1 || j->ranks < 1 || j->ranks > RP_MAX_RANKS ||
      model_len > len - r.at)
    return RP_EBAD;
  j->model_len = (size_t)model_len;
  j->model = take(&r, j->model_len);
  j->data = payload + r.at;
  j->data_len = len - r.at;
  return RP_OK;
}

/* ---- EPOCH, PAUSED ------------------------------------------------------------------- */

#define EPOCH_FIXED (4 + 8 * 4 + 4 + 8 + 8 + 4 + 4 + 8)

int rp_epoch_encode(const rp_epoch *e, uint8_t **out, size_t *len) {
  size_t n = EPOCH_FIXED + e->checkpoint_len;
  wbuf w = {malloc(n), 0};
  if (w.p == NULL) return RP_ENOMEM;
  put32(&w, (uint32_t)e->m.epoch);
  putd(&w, e->m.loss);
  putd(&w, e->m.val_loss);
  putd(&w, e->m.accuracy);
  putd(&w, e->m.val_accuracy);
  putf(&w, e->m.lr);
  putd(&w, e->m.seconds);
  put64(&w, e->m.samples);
  put32(&w, (uint32_t)e->done);
  put32(&w, e->params_crc);
  put64(&w, e->checkpoint_len);
  putbytes(&w, e->checkpoint, e->checkpoint_len);
  *out = w.p;
  *len = w.at;
  return RP_OK;
}

int rp_epoch_decode(const uint8_t *payload, size_t len, rp_epoch *e) {
  rbuf r = {payload, len, 0, 0};
  memset(e, 0, sizeof *e);
  e->m.epoch = geti(&r);
  e->m.loss = getd(&r);
  e->m.val_loss = getd(&r);
  e->m.accuracy = getd(&r);
  e->m.val_accuracy = getd(&r);
  e->m.lr = getf(&r);
  e->m.seconds = getd(&r);
  uint64_t samples = get64(&r);
  e->done = geti(&r);
  e->params_crc = get32(&r);
  uint64_t ckpt_len = get64(&r);
  if (r.bad || e->m.epoch < 1 || samples > SIZE_MAX || ckpt_len != len - r.at) return RP_EBAD;
  e->m.samples = (size_t)samples;
  e->checkpoint_len = (size_t)ckpt_len;
  e->checkpoint = ckpt_len > 0 ? payload + r.at : NULL;
  return RP_OK;
}

int rp_paused_decode(const uint8_t *payload, size_t len, int *epochs, const uint8_t **ckpt,
                     size_t *ckpt_len) {
  rbuf r = {payload, len, 0, 0};
  *epochs = geti(&r);
  if (r.bad || *epochs < 0) return RP_EBAD;
  *ckpt_len = len - r.at;
  *ckpt = *ckpt_len > 0 ? payload + r.at : NULL;
  return RP_OK;
}

/* ---- the data set ----------------------------------------------------------------- */

int rp_data_encode(const nn_data *d, uint8_t **out, size_t *len) {
  /* the sizes were checked when the data set was stored: no product overflows */
  size_t x = d->rows * (size_t)d->features * 4;
  size_t t = d->labels != NULL ? d->rows * 4 : d->rows * (size_t)d->outputs * 4;
  wbuf w = {malloc(32 + x + t), 0};
  if (w.p == NULL) return RP_ENOMEM;
  putbytes(&w, (const uint8_t *)"TRDS", 4);
  put32(&w, 1);
  put64(&w, d->rows);
  put32(&w, (uint32_t)d->features);
  /* with labels, the file's outputs are the classes (as traind-rank's tests write it) */
  put32(&w, (uint32_t)(d->labels != NULL && d->outputs == 0 ? d->classes : d->outputs));
  put32(&w, d->labels != NULL ? (uint32_t)d->classes : 0);
  put32(&w, 0);
  for (size_t i = 0; i < d->rows * (size_t)d->features; i++) putf(&w, d->x[i]);
  if (d->labels != NULL)
    for (size_t i = 0; i < d->rows; i++) put32(&w, (uint32_t)d->labels[i]);
  else
    for (size_t i = 0; i < d->rows * (size_t)d->outputs; i++) putf(&w, d->y[i]);
  *out = w.p;
  *len = w.at;
  return RP_OK;
}

/* ---- the socket -------------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return RP_EIO;
    p += k;
    n -= (size_t)k;
  }
  return RP_OK;
}

/* RP_EEOF when the stream ends before the first byte */
static int read_all(int fd, uint8_t *p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, p + got, n - got);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return RP_EIO;
    if (k == 0) return got == 0 ? RP_EEOF : RP_EIO;
    got += (size_t)k;
  }
  return RP_OK;
}

int rp_send(int fd, rp_type type, const uint8_t *payload, size_t len) {
  uint8_t h[RP_HEADER];
  rp_header_encode(h, type, payload, len);
  int rc = write_all(fd, h, sizeof h);
  return rc == RP_OK ? write_all(fd, payload, len) : rc;
}

int rp_recv(int fd, rp_header *h, uint8_t **payload) {
  uint8_t hb[RP_HEADER];
  *payload = NULL;
  int rc = read_all(fd, hb, sizeof hb);
  if (rc != RP_OK) return rc;
  if ((rc = rp_header_decode(hb, h)) != RP_OK) return rc;
  if (h->len == 0) return RP_OK;
  if (h->len > SIZE_MAX || (*payload = malloc((size_t)h->len)) == NULL) return RP_ENOMEM;
  rc = read_all(fd, *payload, (size_t)h->len);
  if (rc == RP_EEOF) rc = RP_EIO;
  if (rc == RP_OK) rc = rp_payload_check(h, *payload);
  if (rc != RP_OK) {
    free(*payload);
    *payload = NULL;
  }
  return rc;
}
