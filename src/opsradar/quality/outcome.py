"""What a suite run found, in words an SRE can act on (no GX import here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _condition(cond: Any) -> str:
    """GX row condition (JSON form) as text: unit == 'percent'."""
    if isinstance(cond, dict) and cond.get("type") == "comparison":
        return f"{cond['column']['name']} {cond['operator']} {cond['parameter']!r}"
    return _short(cond, 80)


@dataclass
class ExpectationFailure:
    expectation: str  # GX type, e.g. expect_column_values_to_be_unique
    column: str | None
    kwargs: dict[str, Any]
    why: str | None = None
    element_count: int | None = None
    unexpected_count: int | None = None
    observed_value: Any = None
    sample_values: list[Any] = field(default_factory=list)
    sample_rows: list[dict[str, Any]] = field(default_factory=list)
    exception: str | None = None

    def describe(self) -> str:
        args = ", ".join(f"{k}={_condition(v) if k == 'row_condition' else _short(v, 60)}" for k, v in self.kwargs.items())
        text = f"{self.expectation}({args})"
        if self.why:
            text += f" [{self.why}]"
        if self.exception:
            return f"{text}: could not be evaluated: {self.exception}"
        if self.unexpected_count is not None:
            share = f" ({100 * self.unexpected_count / self.element_count:.2f}%)" if self.element_count else ""
            text += f": {self.unexpected_count} of {self.element_count} rows unexpected{share}"
        elif self.observed_value is not None:
            text += f": observed {_short(self.observed_value)}"
        elif self.expectation == "expect_column_to_exist":
            text += f": column {self.column!r} is missing"
        if self.sample_values:
            text += f"; sample values {_short(self.sample_values, 240)}"
        if self.sample_rows:
            rows = "; ".join(", ".join(f"{k}={_short(v, 80)}" for k, v in row.items()) for row in self.sample_rows)
            text += f"; sample rows: {rows}"
        return text


@dataclass
class SuiteOutcome:
    suite: str
    severity: str
    layer: str
    dataset: str
    interval_start: str
    interval_end: str
    success: bool
    row_count: int
    previous_row_count: int | None
    evaluated: int
    parameters: dict[str, Any]
    failures: list[ExpectationFailure] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    result_path: str | None = None

    @property
    def blocking(self) -> bool:
        return not self.success and self.severity == "error"

    def headline(self) -> str:
        state = "passed" if self.success else f"FAILED ({self.severity})"
        text = (f"suite {self.suite} {state} on {self.layer}/{self.dataset} [{self.interval_start}, {self.interval_end}): "
                f"{len(self.failures)} of {self.evaluated} expectation(s) failed, {self.row_count} rows")
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        if self.result_path:
            text += f"; result {self.result_path}"
        return text

    def describe(self) -> str:
        lines = [self.headline()]
        lines += [f"  - {f.describe()}" for f in self.failures]
        lines += [f"  - skipped: {s}" for s in self.skipped]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DataQualityError(RuntimeError):
    """An error-severity suite failed: downstream tasks of this interval must not run."""

    def __init__(self, outcomes: list[SuiteOutcome]) -> None:
        self.outcomes = outcomes
        names = sorted({f.expectation for o in outcomes for f in o.failures})
        head = f"data quality gate failed: {len(outcomes)} suite run(s) with error severity failed ({', '.join(names)})"
        super().__init__("\n".join([head, *(o.describe() for o in outcomes)]))
