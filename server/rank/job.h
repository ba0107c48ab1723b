/*
 * job.h — what one run of traind-rank trains: a model (a core checkpoint,
 * weights only or with a trainer state to resume), a data set in the
 * binary form below, and a training configuration from the command line.
 * MPI-free: main.c moves the bytes between the ranks.
 *
 * The data set file (little-endian, docs/distributed.md):
 *   "TRDS"  u32 version (1)  u64 rows  u32 features  u32 outputs
 *   u32 classes (0: regression targets y; else labels in [0, classes))
 *   u32 reserved (0)
 *   f32 x[rows][features]       at offset 32, so the floats are aligned
 *   then f32 y[rows][outputs], or i32 labels[rows]
 */
#ifndef TRAIND_RANK_JOB_H
#define TRAIND_RANK_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/nn.h"

typedef struct {
  const char *model_path; /* --model: a checkpoint */
  const char *spec_text;  /* --spec: or a spec, see job_spec_parse */
  const char *data_path;  /* --data */
  const char *out_path;   /* --out: the final checkpoint (rank 0) */
  nn_train_config config;
  int local;              /* --local N: N ranks as threads, no MPI; 0 = MPI */
  int threads;            /* --threads: compute threads of each rank */
} job_args;

/**
 * Parse the command line (everything after argv[0]).
 * @param msg receives why it is wrong
 * @return 0, or -1 for a usage error
 */
int job_args_parse(int argc, char **argv, job_args *a, char *msg, size_t msg_len);

/**
 * A spec in one line: layers separated by ';' after the input width,
 * "inputs=2;dense:16:relu;dropout:0.3;dense:3:softmax;loss=cross_entropy;seed=11"
 * (the names are core's: nn_parse_name), validated.
 * @return NN_OK or NN_EINVAL with err set
 */
int job_spec_parse(const char *text, nn_spec *spec, nn_error *err);

/** The data set decoded from its file bytes (a little-endian host reads
 * them in place: x, y, labels point into buf, which must be 4-aligned).
 * @return NN_OK, or NN_EFORMAT with err set */
int job_data_decode(const uint8_t *buf, size_t len, nn_data *d, nn_error *err);

/**
 * Read a whole file.
 * @return 0, or -1 with errno set
 */
int job_read_file(const char *path, uint8_t **buf, size_t *len);

/** @return 0, or -1 with errno set; written to a temporary name, then renamed */
int job_write_file(const char *path, const uint8_t *buf, size_t len);

#endif
