/*
 * rank_proto.h — the messages between a training worker of the daemon and
 * rank 0 of a data-parallel run (traind-rank, docs/distributed.md), over a
 * unix socket the worker made in a private directory. Shared by both sides:
 * the daemon links it without MPI, traind-rank links it with core.
 *
 * A message is a 24-byte header, then its payload:
 *   "TRMP"  u16 version (1)  u16 type  u64 payload length  u32 CRC-32 of
 *   the payload  u32 CRC-32 of the 20 bytes before it
 * all little-endian. A reader checks the header's CRC, magic, version, type
 * and length (each type has its own bounds, RP_MAX_PAYLOAD at most) before it
 * allocates anything, and the payload's CRC before it decodes it; the
 * decoders then check every length against what is left.
 *
 *   worker -> rank 0                     rank 0 -> worker
 *   JOB (once, first)                    HELLO (first: version string)
 *   ACK (after committing an EPOCH)      EPOCH (metrics [+ checkpoint])
 *   CANCEL, PAUSE (at any time)          HEARTBEAT (at least every second)
 *                                        PAUSED (checkpoint), STOPPED,
 *                                        DONE, ERROR (text): the last
 *
 * Costs: one copy of the job (data set included) through the socket; per
 * epoch the metrics and, when due, the checkpoint bytes.
 */
#ifndef TRAIND_RANK_PROTO_H
#define TRAIND_RANK_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "../core/nn.h"

#define RP_VERSION 1
#define RP_HEADER 24
#define RP_MAX_PAYLOAD ((uint64_t)1 << 36) /* 64 GiB: a data set and a checkpoint */
#define RP_MAX_RANKS 256
#define RP_CONFIG_BYTES 92

typedef enum {
  RP_HELLO = 1,
  RP_JOB,
  RP_ACK,
  RP_CANCEL,
  RP_PAUSE,
  RP_EPOCH,
  RP_HEARTBEAT,
  RP_PAUSED,
  RP_STOPPED,
  RP_DONE,
  RP_ERROR,
  RP_TYPE_END
} rp_type;

/* Why a message was refused */
enum { RP_OK = 0, RP_EIO = -1, RP_EEOF = -2, RP_EBAD = -3, RP_ENOMEM = -4 };

typedef struct {
  rp_type type;
  uint64_t len;
  uint32_t crc;
} rp_header;

/* What JOB carries. */
typedef struct {
  nn_train_config config;
  int checkpoint_every;
  int ranks;
  const uint8_t *model; /* a core checkpoint: weights, or weights and a trainer state */
  size_t model_len;
  const uint8_t *data;  /* the data set in its file form (server/rank/job.h) */
  size_t data_len;
} rp_job;

/* What EPOCH carries. */
typedef struct {
  nn_epoch_metrics m;
  int done;             /* the run's last epoch */
  uint32_t params_crc;  /* every rank's, compared when a checkpoint is due */
  const uint8_t *checkpoint; /* with a trainer state, or NULL */
  size_t checkpoint_len;
} rp_epoch;

/** Encode a header for a payload. */
void rp_header_encode(uint8_t out[RP_HEADER], rp_type type, const uint8_t *payload, uint64_t len);

/** @return RP_OK, or RP_EBAD when the header is corrupt, of another version
 * or an unknown type, or announces a length its type cannot have */
int rp_header_decode(const uint8_t in[RP_HEADER], rp_header *h);

/** @return RP_OK, or RP_EBAD when the payload's CRC differs */
int rp_payload_check(const rp_header *h, const uint8_t *payload);

/** A new JOB payload (free it). @return RP_OK or RP_ENOMEM */
int rp_job_encode(const rp_job *j, uint8_t **out, size_t *len);
/** j points into payload. @return RP_OK or RP_EBAD */
int rp_job_decode(const uint8_t *payload, size_t len, rp_job *j);

/** A new EPOCH payload (free it). @return RP_OK or RP_ENOMEM */
int rp_epoch_encode(const rp_epoch *e, uint8_t **out, size_t *len);
/** e points into payload. @return RP_OK or RP_EBAD */
int rp_epoch_decode(const uint8_t *payload, size_t len, rp_epoch *e);

/** PAUSED: u32 epochs done, then the checkpoint. */
int rp_paused_decode(const uint8_t *payload, size_t len, int *epochs, const uint8_t **ckpt,
                     size_t *ckpt_len);

/** The data set's file form of d (server/rank/job.h), a new buffer. */
int rp_data_encode(const nn_data *d, uint8_t **out, size_t *len);

/** Write a whole message (blocking). @return RP_OK or RP_EIO */
int rp_send(int fd, rp_type type, const uint8_t *payload, size_t len);

/**
 * Read a whole message (blocking), checked.
 * @param payload receives a new buffer (NULL when empty; free it)
 * @return RP_OK, RP_EEOF at a clean end before a header, RP_EIO, RP_EBAD or
 *         RP_ENOMEM
 */
int rp_recv(int fd, rp_header *h, uint8_t **payload);

#endif
