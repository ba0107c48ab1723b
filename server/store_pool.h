/*
 * store_pool.h — store handles kept between requests.
 *
 * Each HTTP connection has a thread of its own, and opening a store (an
 * SQLite connection, its pragmas, the schema check) and preparing the
 * statements a request runs (each at its first use on the handle) cost more
 * than most requests. So a request takes an idle handle (with the statements
 * earlier requests prepared on it) when there is one, opens one otherwise,
 * and gives it back when it ends; at most max_idle handles wait for the next
 * request, the rest are closed.
 * Taking never waits: concurrent requests each get a handle.
 *
 * Closing is not free either: while any other connection of the process
 * holds a lock on the database (the job workers' always do in WAL mode),
 * SQLite cannot close a closed connection's file descriptor — POSIX locks
 * belong to the process — and keeps it for its next open. Reuse keeps such
 * descriptors to the bursts that exceed max_idle.
 *
 * Safe from any thread; a handle is used by one thread at a time.
 */
#ifndef TRAIND_STORE_POOL_H
#define TRAIND_STORE_POOL_H

#include <stddef.h>

#include "store.h"

typedef struct store_pool store_pool;

/**
 * @param db_path  the database every handle opens; copied
 * @param max_idle handles kept for reuse, >= 1
 * @return STORE_OK or STORE_ENOMEM (nothing is opened yet)
 */
int store_pool_new(const char *db_path, size_t max_idle, store_pool **out);

/** Close the idle handles and free p; handles still taken stay open. NULL is a no-op. */
void store_pool_free(store_pool *p);

/**
 * An idle handle, or a newly opened one.
 * @return STORE_OK, or store_open's error (with *out NULL)
 */
int store_pool_take(store_pool *p, store **out);

/**
 * Give back a handle taken from p: kept when fewer than max_idle wait and it
 * is idle (store_idle), closed otherwise. NULL is a no-op.
 */
void store_pool_give(store_pool *p, store *st);

/** @return the handles waiting in p, for tests and logs. */
size_t store_pool_idle(store_pool *p);

#endif
