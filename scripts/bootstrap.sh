#!/usr/bin/env bash
# Set up everything OpsRadar needs on a fresh machine; a no-op when already done.
# One pip resolution against constraints.txt, so torch (~3 GB) is downloaded once.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
# Test-only: Debian's docker-compose 1.29 (`config` is the compose file's second check besides the
# JSON schema). Installed only where apt is ours to use; elsewhere those two tests skip.
if ! command -v docker-compose >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need_apt+=(docker-compose)
fi
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing ${need_apt[*]} (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  else
    echo "bootstrap: please install: ${need_apt[*]} (Java 17+ and Maven fetch/run Elasticsearch)" >&2
    exit 1
  fi
fi

PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PY" -c 'import sys; assert sys.version_info[:2] in ((3, 11), (3, 12)), sys.version' \
  || { echo "bootstrap: Python 3.11 or 3.12 required (set PYTHON=...)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$PY" -m venv .venv

stamp=.venv/.opsradar-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python packages into .venv (first time: ~3-5 minutes)"
  .venv/bin/python -m pip install -q --upgrade "pip==26.3"
  .venv/bin/python -m pip install -q --progress-bar off -c constraints.txt -e ".[dev]"
  .venv/bin/python -m pip check
  echo "$want" >"$stamp"
fi
