"""Great Expectations quality gates over one data interval of a lake layer.

Suites are GX ExpectationSuite JSON files in `schemas/gx/` (one or more per target:
raw_logs, clean_logs, metrics, features); `opsradar.quality.stages` runs them as pipeline
stages. Importing this package is cheap: GX is imported only when a suite runs.
"""

TARGETS = ("raw_logs", "clean_logs", "metrics", "features")
