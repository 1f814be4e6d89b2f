"""The persisted template store and how messages are assigned to stored templates.

One Parquet file per source, `{root}/templates/store/source=<name>/templates.parquet`
(schema `TEMPLATE_STORE`), replaced atomically. A run first matches each distinct
masked message against the stored templates, mines only the messages nothing matched,
appends the new templates (all with the next `seq`, the run number), then assigns EVERY
message by matching against the merged store: the template of the earliest run wins,
and inside one run the most specific one (fewest `<*>`), then the template text. So the assignment is a function of the
store alone: a re-run or a backfill maps the same message to the same `template_id`,
and a template added later never takes messages away from an older one.

Merging is idempotent: `first_seen` is the earliest event time seen for a template
(data time, not wall clock) and `count` the most lines it had in one run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from opsradar.ids import template_id as make_template_id
from opsradar.layout import Layout
from opsradar.parsing.miner import WILDCARD, TemplateMiner
from opsradar.schemas.arrow import TEMPLATE_STORE

_LEAF = object()


@dataclass(frozen=True)
class StoredTemplate:
    template_id: str
    template: str
    source: str
    first_seen: datetime
    count: int
    tokens: tuple[str, ...]
    seq: int


def _priority(t: StoredTemplate) -> tuple:
    # Older runs first; inside one run the most specific template (fewest variables).
    return (t.seq, t.tokens.count(WILDCARD), t.template)


class TemplateMatcher:
    """Token trie per token count; `<*>` in a template matches any one token."""

    def __init__(self, templates: Iterable[StoredTemplate] = ()):
        self._roots: dict[int, dict] = {}
        for t in templates:
            self.add(t)

    def add(self, template: StoredTemplate) -> None:
        node = self._roots.setdefault(len(template.tokens), {})
        for tok in template.tokens:
            node = node.setdefault(tok, {})
        best = node.get(_LEAF)
        if best is None or _priority(template) < _priority(best):
            node[_LEAF] = template

    def match(self, tokens: Sequence[str]) -> StoredTemplate | None:
        """The matching template added in the earliest run (most specific first), or None."""
        root = self._roots.get(len(tokens))
        if root is None:
            return None
        best: StoredTemplate | None = None
        stack = [(root, 0)]
        while stack:
            node, depth = stack.pop()
            if depth == len(tokens):
                leaf = node.get(_LEAF)
                if leaf is not None and (best is None or _priority(leaf) < _priority(best)):
                    best = leaf
                continue
            exact = node.get(tokens[depth])
            if exact is not None:
                stack.append((exact, depth + 1))
            if tokens[depth] != WILDCARD:
                wild = node.get(WILDCARD)
                if wild is not None:
                    stack.append((wild, depth + 1))
        return best


@dataclass
class Resolution:
    assigned: list[StoredTemplate]  # per input message
    store: list[StoredTemplate]  # the merged store
    new_templates: int
    mined_messages: int


def resolve_templates(
    miner: TemplateMiner,
    source: str,
    existing: Sequence[StoredTemplate],
    masked: Sequence[str],
    weights: Sequence[int],
    first_times: Sequence[datetime],
) -> Resolution:
    """Assign distinct masked messages to templates, mining the ones the store does not know."""
    matcher = TemplateMatcher(existing)
    split = [miner.split(m) for m in masked]
    tokens = [x[2] for x in split]
    unmatched = [i for i, toks in enumerate(tokens) if matcher.match(toks) is None]
    by_id = {t.template_id: t for t in existing}
    next_seq = max((t.seq for t in existing), default=-1) + 1
    new = 0
    if unmatched:
        order = sorted(unmatched, key=lambda i: masked[i])  # deterministic whatever the input order
        mined, _ = miner.mine_templates([masked[i] for i in order], [weights[i] for i in order], [split[i] for i in order])
        for m in sorted(mined, key=lambda m: m.template):
            tid = make_template_id(m.template)
            if tid in by_id:
                continue
            stored = StoredTemplate(tid, m.template, source, min(first_times[order[j]] for j in m.messages), 0, m.tokens, next_seq)
            new += 1
            by_id[tid] = stored
            matcher.add(stored)
    assigned: list[StoredTemplate] = []
    lines: dict[str, int] = {}
    first: dict[str, datetime] = {}
    for i, toks in enumerate(tokens):
        t = matcher.match(toks)
        if t is None:  # cannot happen: a mined template matches its own messages; keep the run alive anyway
            text = masked[i] or "<EMPTY>"
            t = StoredTemplate(make_template_id(text), text, source, first_times[i], 0, toks, next_seq)
            by_id.setdefault(t.template_id, t)
            matcher.add(t)
        assigned.append(t)
        lines[t.template_id] = lines.get(t.template_id, 0) + weights[i]
        first[t.template_id] = min(first.get(t.template_id, first_times[i]), first_times[i])
    known = {t.template_id for t in existing}
    merged = []
    for tid, t in by_id.items():
        if tid not in known and tid not in lines:
            new -= 1  # mined, but an older template took all its messages
            continue
        if tid in lines:
            t = replace(t, first_seen=min(t.first_seen, first[tid]), count=max(t.count, lines[tid]))
        merged.append(t)
    merged.sort(key=lambda t: (t.seq, t.template))
    final = {t.template_id: t for t in merged}
    return Resolution([final[t.template_id] for t in assigned], merged, new, len(unmatched))


def fallback_resolution(
    source: str, existing: Sequence[StoredTemplate], masked: Sequence[str], weights: Sequence[int],
    first_times: Sequence[datetime],
) -> Resolution:
    """Last resort when mining raises: each masked message is its own template (still stable ids)."""
    seq = max((t.seq for t in existing), default=-1) + 1
    by_id = {t.template_id: t for t in existing}
    assigned = []
    for text, w, ts in zip(masked, weights, first_times):
        text = text or "<EMPTY>"
        tid = make_template_id(text)
        old = by_id.get(tid)
        t = StoredTemplate(tid, text, source, min(ts, old.first_seen) if old else ts, max(w, old.count if old else 0),
                           old.tokens if old else (text,), old.seq if old else seq)
        by_id[tid] = t
        assigned.append(t)
    return Resolution([by_id[t.template_id] for t in assigned], sorted(by_id.values(), key=lambda t: (t.seq, t.template)),
                      sum(t.seq == seq for t in by_id.values()), 0)


class TemplateStore:
    """Load/save one source's templates under the `templates` layer."""

    FILE = "templates.parquet"

    def __init__(self, layout: Layout, source: str):
        self.layout = layout
        self.source = source
        self.dir = layout.dataset_dir("templates", f"store/source={source}")

    @property
    def path(self) -> str:
        return f"{self.dir}/{self.FILE}"

    def load(self) -> list[StoredTemplate]:
        if not self.layout.fs.exists(self.path):
            return []
        table = pq.read_table(self.path, filesystem=self.layout.fs)
        return [
            StoredTemplate(r["template_id"], r["template"], r["source"], r["first_seen"], r["count"], tuple(r["tokens"]), r["seq"])
            for r in table.to_pylist()
        ]

    def save(self, templates: Sequence[StoredTemplate]) -> str:
        """Replace the store file atomically (write to staging, then move)."""
        table = to_table(templates)
        fs = self.layout.fs
        staging = self.layout.new_staging_dir()
        try:
            fs.makedirs(staging, exist_ok=True)
            with fs.open(f"{staging}/{self.FILE}", "wb") as fh:
                pq.write_table(table, fh, compression="zstd")
            fs.makedirs(self.dir, exist_ok=True)
            fs.mv(f"{staging}/{self.FILE}", self.path)
        finally:
            self.layout.discard_staging(staging)
        return self.path


def to_table(templates: Sequence[StoredTemplate]) -> pa.Table:
    rows = sorted(templates, key=lambda t: (t.seq, t.template))
    return pa.Table.from_pydict(
        {
            "template_id": [t.template_id for t in rows],
            "template": [t.template for t in rows],
            "source": [t.source for t in rows],
            "first_seen": [t.first_seen for t in rows],
            "count": [t.count for t in rows],
            "tokens": [list(t.tokens) for t in rows],
            "seq": [t.seq for t in rows],
        },
        schema=TEMPLATE_STORE,
    )
