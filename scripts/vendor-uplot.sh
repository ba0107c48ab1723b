#!/bin/sh
# Vendor uPlot, the dashboard's chart library, into clients/web/vendor/uplot:
# its minified IIFE build (the global `uPlot`), its stylesheet and its
# licence, from the npm registry's tarball of one pinned version, with
# VERSION recording the version and the tarball's integrity. Run it to
# change the version; the build itself never fetches anything.
#   scripts/vendor-uplot.sh [VERSION]
set -eu

version="${1:-1.6.32}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/clients/web/vendor/uplot"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "uplot@$version" > pack.txt
tarball="$(tail -n 1 pack.txt)"
integrity="$(npm view "uplot@$version" dist.integrity)"
tar -xzf "$tarball"

mkdir -p "$dest"
cp package/dist/uPlot.iife.min.js package/dist/uPlot.min.css package/LICENSE "$dest/"
printf 'uplot %s\nfrom npm pack uplot@%s (%s)\nintegrity %s\n' \
  "$version" "$version" "$tarball" "$integrity" > "$dest/VERSION"
echo "vendored uplot $version into $dest"
