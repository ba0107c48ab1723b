/*
 * fuzz_rank_proto.c — the messages between a daemon's worker and rank 0 of
 * a data-parallel run (server/rank_proto.h), as either side reads them.
 *
 * A mode byte (mod 4) then the bytes: 0 a stream of messages, each header
 * decoded and its payload CRC-checked when the stream holds it (a payload
 * whose CRC holds is decoded by its type); 1, 2, 3 a JOB, EPOCH or PAUSED
 * payload given to its decoder as is, CRC aside. Every payload sits in a
 * buffer of its exact size, so a read past it is caught. What decodes lies
 * within the payload, has its counts in range, and encodes back to the same
 * bytes.
 */
#include "../../server/rank_proto.h"
#include "fuzz.h"

static int within(const uint8_t *p, size_t n, const uint8_t *buf, size_t len) {
  return n == 0 || (p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

static void check_job(const uint8_t *buf, size_t len) {
  rp_job j;
  if (rp_job_decode(buf, len, &j) != RP_OK) return;
  FUZZ_CHECK(j.ranks >= 1 && j.ranks <= RP_MAX_RANKS && j.checkpoint_every >= 1, "counts");
  FUZZ_CHECK(within(j.model, j.model_len, buf, len) && within(j.data, j.data_len, buf, len),
             "a piece lies outside the payload");
  uint8_t *again;
  size_t again_len;
  FUZZ_CHECK(rp_job_encode(&j, &again, &again_len) == RP_OK, "encode");
  FUZZ_CHECK(again_len == len && memcmp(again, buf, len) == 0, "job does not encode back");
  free(again);
}

static void check_epoch(const uint8_t *buf, size_t len) {
  rp_epoch e;
  if (rp_epoch_decode(buf, len, &e) != RP_OK) return;
  FUZZ_CHECK(e.m.epoch >= 1 && within(e.checkpoint, e.checkpoint_len, buf, len), "epoch");
  uint8_t *again;
  size_t again_len;
  FUZZ_CHECK(rp_epoch_encode(&e, &again, &again_len) == RP_OK, "encode");
  FUZZ_CHECK(again_len == len && memcmp(again, buf, len) == 0, "epoch does not encode back");
  free(again);
}

static void check_paused(const uint8_t *buf, size_t len) {
  int epochs;
  const uint8_t *ckpt;
  size_t ckpt_len;
  if (rp_paused_decode(buf, len, &epochs, &ckpt, &ckpt_len) != RP_OK) return;
  FUZZ_CHECK(epochs >= 0 && within(ckpt, ckpt_len, buf, len) && ckpt_len == len - 4, "paused");
}

/* A payload in a buffer of its own size. */
static void decode(int mode, const uint8_t *data, size_t size) {
  uint8_t *buf = malloc(size > 0 ? size : 1);
  FUZZ_CHECK(buf != NULL, "out of memory");
  if (size > 0) memcpy(buf, data, size);
  if (mode == RP_JOB) check_job(buf, size);
  else if (mode == RP_EPOCH) check_epoch(buf, size);
  else if (mode == RP_PAUSED) check_paused(buf, size);
  free(buf);
}

static void stream(const uint8_t *data, size_t size) {
  while (size >= RP_HEADER) {
    rp_header h;
    if (rp_header_decode(data, &h) != RP_OK) return;
    FUZZ_CHECK(h.type >= RP_HELLO && h.type < RP_TYPE_END && h.len <= RP_MAX_PAYLOAD, "header");
    data += RP_HEADER;
    size -= RP_HEADER;
    if (h.len > size) return;
    if (rp_payload_check(&h, data) == RP_OK) decode((int)h.type, data, (size_t)h.len);
    data += h.len;
    size -= (size_t)h.len;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  static const int modes[] = {0, RP_JOB, RP_EPOCH, RP_PAUSED};
  int mode = modes[data[0] % 4];
  if (mode == 0) stream(data + 1, size - 1);
  else decode(mode, data + 1, size - 1);
  return 0;
}
