#!/usr/bin/env bash
# Fetch the full Numenta Anomaly Benchmark v1.1 (58 files; MIT licence) and verify every file's md5.
#   scripts/fetch_nab.sh [DEST]          (default: ~/.cache/opsradar/NAB-1.1)
# then: opsradar eval nab --nab-root DEST --json --compare DEST/results/numenta
set -euo pipefail
dest="${1:-$HOME/.cache/opsradar/NAB-1.1}"
sums="$(cd "$(dirname "$0")" && pwd)/nab_v1.1.md5"
if [ ! -f "$dest/labels/combined_windows.json" ]; then
  mkdir -p "$(dirname "$dest")"
  tmp="$(mktemp -d)"
  curl -fsSL https://github.com/numenta/NAB/archive/refs/tags/v1.1.tar.gz | tar -xz -C "$tmp"
  mv "$tmp/NAB-1.1" "$dest" && rm -rf "$tmp"
fi
(cd "$dest" && md5sum --quiet -c "$sums") && echo "NAB v1.1 verified: $dest"
