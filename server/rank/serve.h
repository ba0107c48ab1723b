/*
 * serve.h — traind-rank running a daemon's job (serve.c), and the MPI
 * helpers it shares with main.c's runs from files.
 */
#ifndef TRAIND_RANK_SERVE_H
#define TRAIND_RANK_SERVE_H

#include <stddef.h>
#include <stdint.h>

/** The gradient and loss-sum reduces: MPI_Allreduce over MPI_COMM_WORLD. */
int rank_mpi_floats(void *ud, float *buf, size_t n);
int rank_mpi_doubles(void *ud, double *buf, size_t n);

/** Rank 0's buffer to every rank (the others allocate it); a length of 0
 * says rank 0 failed. @return 0 or -1 */
int rank_bcast_bytes(int rank, uint8_t **buf, size_t *len);

/**
 * Initialise MPI, take the job from the daemon's worker over the unix socket
 * at path (rank 0), train it and report back (server/rank_proto.h).
 * @return the exit status: 0 when the job ended as the worker was told
 *         (DONE, PAUSED, STOPPED or ERROR sent), 1 otherwise
 */
int rank_serve(const char *path, int *argc, char ***argv);

#endif
