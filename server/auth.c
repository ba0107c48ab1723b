/* auth.c — bearer tokens, compared in constant time, and the loopback rule. */
#include "auth.h"

#include <netinet/in.h>
#include <string.h>
#include <strings.h>

bool auth_equal(const char *secret, const char *candidate, size_t candidate_len) {
  size_t secret_len = strlen(secret);
  /* Walk the candidate whole, wrapping around the secret, and OR every
   * difference together: the loop's work is fixed by the candidate alone. */
  unsigned diff = secret_len != candidate_len;
  for (size_t i = 0; i < candidate_len; i++) {
    diff |= (unsigned char)(secret[i % secret_len] ^ candidate[i]);
  }
  return diff == 0;
}

int auth_check(const config *cfg, route_access access, const char *authorization,
               api_error *err) {
  if (access == ROUTE_OPEN || cfg->token[0] == '\0') return 0;
  static const char scheme[] = "Bearer ";
  const size_t scheme_len = sizeof scheme - 1;
  if (authorization == NULL || strncasecmp(authorization, scheme, scheme_len) != 0) {
    return api_fail(err, API_UNAUTHORIZED, NULL,
                    "this endpoint needs an \"Authorization: Bearer <token>\" header");
  }
  const char *given = authorization + scheme_len;
  while (*given == ' ') given++;
  size_t len = strlen(given);
  /* A token never ends in white space (RFC 6750's b64token): one that does
   * was pasted with it, and "not valid" alone would hide why. */
  if (len > 0 && (given[len - 1] == ' ' || given[len - 1] == '\t'))
    return api_fail(err, API_UNAUTHORIZED, NULL,
                    "the bearer token ends with white space; send the token alone");
  if (len == 0)
    return api_fail(err, API_UNAUTHORIZED, NULL,
                    "the Authorization header has \"Bearer\" but no token after it");
  /* Both comparisons always run, so the time says nothing about which matched. */
  bool full = auth_equal(cfg->token, given, len);
  bool read_only = cfg->read_token[0] != '\0' && auth_equal(cfg->read_token, given, len);
  if (full || (read_only && access == ROUTE_READ)) return 0;
  if (read_only) {
    return api_fail(err, API_FORBIDDEN, NULL,
                    "the read-only token allows reads and predictions only; this needs the "
                    "full token");
  }
  return api_fail(err, API_UNAUTHORIZED, NULL, "the bearer token is not valid");
}

bool auth_loopback(const struct sockaddr_storage *addr) {
  if (addr->ss_family == AF_INET) {
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)addr;
    return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
  }
  if (addr->ss_family == AF_INET6) {
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a6) ||
           (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
  }
  return false;
}
