/*
 * reply.h — answers that handlers write again and again, in the spirit of
 * redis' addReply*: a list of resources, and a failed store call. Built on
 * http.h's http_json and http_error, so a list looks the same and a store
 * failure answers with the same status and message on every endpoint.
 *
 * A list is built as it is read, one item at a time, and answered
 * {"<key>":[...]}; an item that could not be written (out of memory) turns
 * the whole answer into a 500, never a shorter list.
 */
#ifndef TRAIND_REPLY_H
#define TRAIND_REPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

typedef struct {
  cJSON *root; /* {"<key>":[...]}, NULL once anything failed */
  cJSON *arr;  /* root's array */
} reply_list;

/** Start {"<key>":[]}. @param key a static string */
void reply_list_start(reply_list *l, const char *key);

/** Append item (consumed; NULL, a writer out of memory, fails the list). */
void reply_list_add(reply_list *l, cJSON *item);

/**
 * Append the JSON of a stored row, `what` id: a NULL item of a row damaged
 * behind the daemon's back (damaged true) is logged and left out, so one bad
 * row does not fail the whole list; a NULL item otherwise fails it.
 */
void reply_list_add_row(reply_list *l, cJSON *item, bool damaged, const char *what, int64_t id);

/**
 * Answer 200 with one stored row's JSON (item, consumed), or 500 "<what> <id>
 * is damaged in the database" when it is NULL because the row is damaged.
 */
void reply_row(http_response *res, cJSON *item, bool damaged, const char *what, int64_t id);

/** Answer 200 with the list, or 500 when any part of it failed. */
void reply_list_end(reply_list *l, http_response *res);

/**
 * Answer a failed store call (a store_status) as api_store_fail writes it:
 * 404 "no <what> with id <id>" naming "id" when the row the path's {id}
 * names is missing, else the status's code with "database error: ...".
 * @param what the resource the path names ("model"...), or NULL when the
 *             call was not about one (a list, an insert)
 */
void reply_store_error(http_response *res, int status, const char *what, int64_t id);

#endif
