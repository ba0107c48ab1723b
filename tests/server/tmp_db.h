/* tmp_db.h — a database file in a fresh temporary directory, for the suites
 * that run over a real store, and its removal with SQLite's side files. */
#ifndef TRAIND_TESTS_TMP_DB_H
#define TRAIND_TESTS_TMP_DB_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct {
  char dir[64];
  char path[128]; /* dir/traind.db, not created yet */
} tmp_db;

/* A fresh directory /tmp/traind-<name>-XXXXXX to hold db->path. */
static inline void tmp_db_make(tmp_db *db, const char *name) {
  snprintf(db->dir, sizeof db->dir, "/tmp/traind-%s-XXXXXX", name);
  cr_assert_not_null(mkdtemp(db->dir));
  snprintf(db->path, sizeof db->path, "%s/traind.db", db->dir);
}

/* Remove the database, its write-ahead log and shared memory, and the
 * directory (once every handle on it is closed). */
static inline void tmp_db_remove(const tmp_db *db) {
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
  char file[160];
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
    snprintf(file, sizeof file, "%s%s", db->path, suffixes[i]);
    unlink(file);
  }
  rmdir(db->dir);
}

#endif
