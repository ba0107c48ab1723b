/*
 * auth.h — who may call what: bearer tokens checked against a route's access
 * (router.h), and whether the daemon may listen where it was asked to.
 *
 * With no token configured every route is open (fine on loopback, which is
 * why main refuses other addresses then, unless --insecure). With one, a
 * request names it in "Authorization: Bearer <token>"; the full token opens
 * every route, the read-only token ROUTE_READ and ROUTE_OPEN ones only.
 */
#ifndef TRAIND_AUTH_H
#define TRAIND_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "config.h"
#include "errors.h"
#include "router.h"

/**
 * Compare a secret with a candidate in time that depends only on the
 * candidate's length: no early exit at the first differing byte, and the
 * secret's length shows only in the result.
 * @param secret non-empty
 * @return true when equal
 */
bool auth_equal(const char *secret, const char *candidate, size_t candidate_len);

/**
 * May a request with this Authorization header use a route of this access?
 * The scheme "Bearer" matches case-insensitively, as HTTP auth schemes do.
 * @param authorization the header as received, or NULL when absent
 * @return 0, or -API_UNAUTHORIZED (no token or a wrong one; the answer
 *         needs WWW-Authenticate: Bearer) or -API_FORBIDDEN (the read-only
 *         token on a write), with err filled
 */
int auth_check(const config *cfg, route_access access, const char *authorization,
               api_error *err);

/** @return true for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: this host only. */
bool auth_loopback(const struct sockaddr_storage *addr);

#endif
