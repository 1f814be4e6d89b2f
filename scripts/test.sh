#!/usr/bin/env bash
# Run the whole test suite (unit, Spark, Airflow dag.test, real Elasticsearch).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONDONTWRITEBYTECODE=1
set +e
.venv/bin/python -m pytest -p no:cacheprovider "$@"
rc=$?
set -e
[ "$rc" = 5 ] && { echo "no tests collected" >&2; exit 1; }
exit "$rc"
