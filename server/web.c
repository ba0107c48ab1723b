/* web.c — lookups in the compiled-in dashboard files. */
#include "web.h"

#include <string.h>

const web_asset *web_find(const char *path) {
  size_t lo = 0, hi = web_assets_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int cmp = strcmp(path, web_assets[mid].path);
    if (cmp == 0) return &web_assets[mid];
    if (cmp < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

bool web_etag_match(const char *if_none_match, const char *etag) {
  if (if_none_match == NULL) return false;
  size_t etag_len = strlen(etag);
  for (const char *p = if_none_match;;) {
    p += strspn(p, " \t");
    if (*p == '*') return true;
    if (strncmp(p, "W/", 2) == 0) p += 2;
    size_t len = strcspn(p, ",");
    size_t trimmed = len;
    while (trimmed > 0 && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t')) trimmed--;
    if (trimmed == etag_len && memcmp(p, etag, etag_len) == 0) return true;
    if (p[len] == '\0') return false;
    p += len + 1;
  }
}
