#!/bin/sh
# Vendor KaTeX into leaderboard/static/vendor/katex (the site typesets math with it, offline).
# Run from the repository root: sh leaderboard/vendor_katex.sh
# It fetches the pinned release from the npm registry (`npm pack`), checks the registry's
# integrity hash, and copies the minified script and stylesheet, the woff2 fonts (every
# browser that runs the site reads woff2 first and never asks for the woff/ttf fallbacks)
# and the MIT license.
set -eu
VERSION=0.19.1
INTEGRITY=sha512-jG8uKntjSEcm2EpQOh0XturpPuuC9r3Sq5HLHdsFdWZT27E672SF19QEi+of0/YeOy15lDgRhKvr5614uRrEfA==
DEST=leaderboard/static/vendor/katex
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "katex@$VERSION" >/dev/null)
tarball="$work/katex-$VERSION.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | openssl base64 -A)"
[ "$got" = "$INTEGRITY" ] || { echo "integrity mismatch: $got" >&2; exit 1; }
tar -xzf "$tarball" -C "$work"
rm -rf "$DEST"
mkdir -p "$DEST/fonts"
cp "$work/package/dist/katex.min.js" "$work/package/dist/katex.min.css" "$work/package/LICENSE" "$DEST/"
cp "$work/package/dist/fonts/"*.woff2 "$DEST/fonts/"
printf 'KaTeX %s (https://katex.org), MIT license (LICENSE), from the npm registry:\nnpm pack katex@%s, integrity %s.\nFiles: dist/katex.min.js, dist/katex.min.css, dist/fonts/*.woff2. Refresh with leaderboard/vendor_katex.sh.\n' \
  "$VERSION" "$VERSION" "$INTEGRITY" > "$DEST/README.txt"
echo "vendored KaTeX $VERSION into $DEST"
