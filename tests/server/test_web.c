/* test_web.c — the compiled-in dashboard: the generated table and tag matching. */
#include <criterion/criterion.h>
#include <string.h>

#include "../../server/web.h"

Test(web, table_is_sorted_and_complete) {
  cr_assert_gt(web_assets_count, 0);
  for (size_t i = 0; i < web_assets_count; i++) {
    const web_asset *f = &web_assets[i];
    if (i > 0) cr_expect_lt(strcmp(web_assets[i - 1].path, f->path), 0, "%s", f->path);
    cr_expect_gt(f->len, 0, "%s is empty", f->path);
    cr_expect_not_null(f->content_type);
    cr_expect_eq(strlen(f->etag), 18, "%s: %s", f->path, f->etag);
    cr_expect(f->etag[0] == '"' && f->etag[17] == '"', "%s", f->etag);
    cr_expect_eq(web_find(f->path), f, "binary search finds %s", f->path);
  }
}

Test(web, files_and_their_types) {
  const web_asset *index = web_find("index.html");
  cr_assert_not_null(index);
  cr_expect_str_eq(index->content_type, "text/html; charset=utf-8");
  cr_expect(index->len > 15 && memcmp(index->data, "<!doctype html>", 15) == 0);
  const web_asset *app = web_find("js/app.js");
  cr_assert_not_null(app);
  cr_expect_str_eq(app->content_type, "text/javascript; charset=utf-8");
  const web_asset *css = web_find("css/app.css");
  cr_assert_not_null(css);
  cr_expect_str_eq(css->content_type, "text/css; charset=utf-8");
  const web_asset *uplot = web_find("vendor/uplot/uPlot.iife.min.js");
  cr_assert_not_null(uplot, "uPlot is vendored in");
  const web_asset *license = web_find("vendor/uplot/LICENSE");
  cr_assert_not_null(license, "with its licence");
  cr_expect_str_eq(license->content_type, "text/plain; charset=utf-8");
  cr_expect_neq(strcmp(app->etag, css->etag), 0, "tags follow content");
}

Test(web, unknown_paths_are_not_found) {
  const char *bad[] = {"", "nothing.js", "js", "js/", "index.htm", "index.html/", "/index.html",
                       "../index.html", "JS/APP.JS", "zzz"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    cr_expect_null(web_find(bad[i]), "%s", bad[i]);
  }
}

Test(web, if_none_match) {
  const char *tag = "\"0123456789abcdef\"";
  cr_expect(web_etag_match("\"0123456789abcdef\"", tag));
  cr_expect(web_etag_match("W/\"0123456789abcdef\"", tag), "weak comparison");
  cr_expect(web_etag_match("\"x\", \"0123456789abcdef\"", tag), "in a list");
  cr_expect(web_etag_match("\"x\",W/\"0123456789abcdef\" ,\"y\"", tag));
  cr_expect(web_etag_match("*", tag));
  cr_expect(web_etag_match("  \"0123456789abcdef\"\t", tag), "blanks around");

  cr_expect_not(web_etag_match(NULL, tag), "no header");
  cr_expect_not(web_etag_match("", tag));
  cr_expect_not(web_etag_match("\"0123456789abcde\"", tag), "a prefix");
  cr_expect_not(web_etag_match("\"0123456789abcdef0\"", tag), "longer");
  cr_expect_not(web_etag_match("0123456789abcdef", tag), "unquoted");
  cr_expect_not(web_etag_match("\"x\", \"y\"", tag));
  cr_expect_not(web_etag_match(",,,", tag));
  cr_expect_not(web_etag_match("w/\"0123456789abcdef\"", tag), "the weak prefix is W/");
}
