"""Streaming bulk writes with retries and a dead-letter list: nothing is dropped silently.

Documents go through `elasticsearch.helpers.streaming_bulk` in chunks. Per chunk, documents
that fail with 429/5xx or a connection error are sent again after an exponential backoff
(initial * 2^n, capped); documents Elasticsearch rejects for good (mapping errors, bad
values), and those still failing after the last attempt, come back as `Failure`s with the
reason, for the caller's dead-letter file. `_id`s are deterministic and every operation is
an `index`, so a retry of a document that did land before a crash overwrites it: exactly once.

After an alias rolled over, a document written in an earlier backing index must be
overwritten there, not duplicated into the new write index: for aliases with more than one
backing index each chunk's ids are looked up first and routed to the index that holds them.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, helpers

log = logging.getLogger(__name__)

MAPPING_ERRORS = {"mapper_parsing_exception", "document_parsing_exception", "strict_dynamic_mapping_exception",
                  "illegal_argument_exception", "mapper_exception"}


class EsAuthError(RuntimeError):
    """A whole request refused with 401/403: configuration, not the documents, so nothing is dead-lettered."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    initial_backoff_s: float = 1.0
    max_backoff_s: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return min(self.max_backoff_s, self.initial_backoff_s * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Op:
    family: str
    index: str  # write alias (or a concrete index)
    id: str
    source: dict[str, Any]


@dataclass
class Failure:
    op: Op
    reason: str  # mapping | rejected | retries_exhausted (invalid_row comes from the mapper)
    detail: str
    error_type: str | None
    status: int | None
    attempts: int


@dataclass
class BulkSummary:
    indexed: int = 0
    duplicates_in_input: int = 0
    retried: int = 0
    attempts: int = 0
    by_family: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    indices: set[str] = field(default_factory=set)


def describe_error(error: Any) -> tuple[str | None, str]:
    """(error type, readable text) from a bulk item error; the text names the field when ES does."""
    if isinstance(error, dict):
        etype, text = error.get("type"), f"{error.get('type')}: {error.get('reason')}"
        caused = error.get("caused_by")
        if isinstance(caused, dict):
            text += f" (caused by {caused.get('type')}: {caused.get('reason')})"
        return etype, text
    return None, str(error)


def field_of(detail: str) -> str | None:
    """The field an ES mapping error is about, e.g. `opsradar.score` or `opsradar.bogus`."""
    m = re.search(r"dynamic introduction of \[([^\]]+)\] within \[([^\]]+)\]", detail)
    if m:
        return f"{m.group(2)}.{m.group(1)}" if m.group(2) != "_doc" else m.group(1)
    m = re.search(r"field \[([^\]]+)\]", detail)
    return m.group(1) if m else None


def _retryable(status: Any, exception: Any) -> bool:
    if isinstance(exception, TransportConnectionError):
        return True
    return not isinstance(status, int) or status == 429 or status >= 500


def _chunks(ops: Iterable[Op], size: int) -> Iterator[list[Op]]:
    it = iter(ops)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


class BulkWriter:
    def __init__(self, es: Elasticsearch, chunk_size: int = 1000, retry: RetryPolicy = RetryPolicy(),
                 sleep: Callable[[float], None] = time.sleep, progress: Callable[[int], None] | None = None) -> None:
        self.es, self.chunk_size, self.retry, self.sleep, self.progress = es, chunk_size, retry, sleep, progress
        self._rolled: dict[str, bool] = {}

    def write(self, ops: Iterable[Op]) -> BulkSummary:
        summary = BulkSummary()
        for chunk in _chunks(ops, self.chunk_size):
            unique = {(op.index, op.id): op for op in chunk}  # a repeated id in one chunk is one document
            summary.duplicates_in_input += len(chunk) - len(unique)
            self._write_chunk(list(unique.values()), summary)
            if self.progress:
                self.progress(len(chunk))
        return summary

    def _route(self, ops: list[Op]) -> dict[tuple[str, str], str]:
        """Concrete index per (alias, id) for ids already stored in a rolled-over alias."""
        routes: dict[tuple[str, str], str] = {}
        for alias in {op.index for op in ops}:
            if alias not in self._rolled:
                try:
                    self._rolled[alias] = len(self.es.indices.get_alias(name=alias)) > 1
                except ApiError as err:
                    if err.status_code != 404:
                        raise
                    self._rolled[alias] = False  # a concrete index or nothing yet: nothing to route
            if not self._rolled[alias]:
                continue
            ids = [op.id for op in ops if op.index == alias]
            hits = self.es.search(index=alias, query={"ids": {"values": ids}}, source=False, size=len(ids))["hits"]["hits"]
            routes.update({(alias, h["_id"]): h["_index"] for h in hits})
        return routes

    def _write_chunk(self, ops: list[Op], summary: BulkSummary) -> None:
        pending = {op.id + "\0" + op.index: op for op in ops}
        last_error: dict[str, tuple[str | None, str, int | None]] = {}
        attempt = 0
        while pending:
            attempt += 1
            summary.attempts += 1
            if attempt > 1:
                summary.retried += len(pending)
            try:
                routes = self._route(list(pending.values()))
                actions = [{"_op_type": "index", "_index": routes.get((op.index, op.id), op.index), "_id": op.id,
                            "_source": op.source} for op in pending.values()]
                keys = list(pending.keys())
                for pos, (ok, item) in enumerate(helpers.streaming_bulk(
                        self.es, actions, chunk_size=len(actions), max_retries=0, raise_on_error=False,
                        raise_on_exception=False, yield_ok=True)):
                    info = item.get("index", {})
                    key = keys[pos]  # streaming_bulk yields results in the order of the actions
                    op = pending[key]
                    if ok:
                        summary.indexed += 1
                        summary.by_family[op.family] = summary.by_family.get(op.family, 0) + 1
                        summary.indices.add(info.get("_index", op.index))
                        del pending[key]
                        continue
                    status, exc = info.get("status"), info.get("exception")
                    etype, detail = describe_error(info.get("error"))
                    if status in (401, 403) and exc is not None:  # the whole request was refused, not one document
                        raise EsAuthError(f"Elasticsearch refused the request (HTTP {status}: credentials or privileges): "
                                          f"{detail[:300]}")
                    if _retryable(status, exc):
                        last_error[key] = (etype, detail, status if isinstance(status, int) else None)
                        continue
                    reason = "mapping" if etype in MAPPING_ERRORS else "rejected"
                    name = field_of(detail)
                    if reason == "mapping" and name:
                        detail = f"mapping conflict on field [{name}] in {info.get('_index', op.index)}: {detail}"
                    summary.failures.append(Failure(op, reason, detail, etype, status, attempt))
                    del pending[key]
            except (TransportConnectionError, TransportError, ApiError) as err:
                if getattr(err, "status_code", None) in (401, 403):
                    raise EsAuthError(f"Elasticsearch refused the request (HTTP {err.status_code}: credentials or privileges)") from None
                # the whole request failed (node down, timeout, 5xx after the client's own retries)
                for key in pending:
                    last_error[key] = (type(err).__name__, str(err), getattr(err, "status_code", None))
            if not pending:
                break
            if attempt >= self.retry.max_attempts:
                for key, op in pending.items():
                    etype, detail, status = last_error.get(key, (None, "unknown error", None))
                    summary.failures.append(Failure(op, "retries_exhausted",
                                                    f"gave up after {attempt} attempts: {detail}", etype, status, attempt))
                return
            wait = self.retry.backoff(attempt)
            log.warning("bulk: %d document(s) not yet indexed (attempt %d/%d: %s); retrying in %.1fs", len(pending),
                        attempt, self.retry.max_attempts, next(iter(last_error.values()), ("", "?"))[1][:200], wait)
            self.sleep(wait)


def failure_rows(failures: list[Failure]) -> list[dict[str, Any]]:
    """Dead-letter rows (schemas/arrow.py ES_DEADLETTER, less interval_start)."""
    return [{"doc_id": f.op.id, "index": f.op.index, "family": f.op.family, "reason": f.reason,
             "error_type": f.error_type, "status": f.status, "detail": f.detail, "attempts": f.attempts,
             "document": json.dumps(f.op.source, sort_keys=True, default=str)} for f in failures]
