"""Variable masking: typed placeholders (`<IP>`, `<NUM>`, ...) replacing variable parts.

Every pattern is written in the regex dialect shared by Python `re` and Java
(`java.util.regex`, what Spark SQL's `regexp_replace` uses), so the library path
(`Masker.mask`) and the Spark path (`spark_mask`) give the same text; a test
checks that on the Loghub samples.

The optional PII mode replaces e-mail addresses, IPs and user names with a salted hash
(`<PII:1a2b3c4d5e6f>`) before masking, so the raw values never leave the cluster while
equal values still hash equally (useful for grouping by user).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce

PLACEHOLDER_RE = re.compile(r"<[A-Z][A-Z0-9_]*>")


@dataclass(frozen=True)
class Mask:
    """Replace every match of `pattern` with `replacement` (typed placeholder text)."""

    name: str
    pattern: str
    replacement: str
    # Literals of which every match contains at least one: texts holding none skip the regex
    # (a substring test is ~10x cheaper than a regex scan; most lines lack most variable kinds).
    guard: tuple[str, ...] = ()

    def applies_to(self, text: str) -> bool:
        return not self.guard or any(g in text for g in self.guard)

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


# Order matters: the most specific shapes first (a URL contains a path and numbers).
BUILTIN_MASKS: dict[str, Mask] = {
    m.name: m
    for m in (
        Mask("url", r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>]+", "<URL>", ("://",)),
        Mask("email", r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+\b", "<EMAIL>", ("@",)),
        Mask("uuid", r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<UUID>", ("-",)),
        Mask("hdfs_block", r"\bblk_-?[0-9]+\b", "<BLK>", ("blk_",)),
        Mask("ip_port", r"(?<![0-9.])([0-9]{1,3}\.){3}[0-9]{1,3}:[0-9]{1,5}\b", "<IP>:<PORT>", (".",)),
        Mask("ip", r"(?<![0-9.])([0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9.])", "<IP>", (".",)),
        Mask("path", r"(?<![\w/.])(/[\w.\-@+~]+){2,}/?", "<PATH>", ("/",)),
        Mask("hex", r"\b0[xX][0-9a-fA-F]+\b", "<HEX>", ("0x", "0X")),
        Mask("num", r"(?<![\w.\-])[-+]?[0-9]+(\.[0-9]+)?(?![\w.])", "<NUM>"),
    )
}
DEFAULT_MASKS = tuple(BUILTIN_MASKS)

PII_PATTERNS: dict[str, str] = {
    "email": BUILTIN_MASKS["email"].pattern,
    "ip": r"(?<![0-9.])([0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9.])",
    "user": r"(?<=\b(user|User|USER)[=: ])[A-Za-z0-9._\-]+",
}


def resolve_masks(names: Iterable[str], extra: Sequence[tuple[str, str]] = ()) -> list[Mask]:
    """User regexes as (pattern, placeholder) pairs first (they are the most specific), then builtins by name."""
    masks = []
    for i, (pattern, placeholder) in enumerate(extra):
        try:
            re.compile(pattern)
        except re.error as err:
            raise ValueError(f"invalid mask regex #{i} {pattern!r}: {err}") from None
        masks.append(Mask(f"user_{i}", pattern, placeholder))
    for name in names:
        if name not in BUILTIN_MASKS:
            raise ValueError(f"unknown mask {name!r}; builtin masks: {', '.join(BUILTIN_MASKS)}")
        masks.append(BUILTIN_MASKS[name])
    return masks


def pii_token(value: str, salt: str) -> str:
    digest = hashlib.sha256((salt + value).encode("utf-8", "surrogateescape")).hexdigest()[:12]
    return f"<PII:{digest}>"


class Masker:
    """Applies PII hashing (optional) then the masks, in order."""

    def __init__(self, masks: Sequence[Mask], pii: bool = False, pii_salt: str = "", pii_patterns: Sequence[str] | None = None):
        self.masks = list(masks)
        self._compiled = [(m.compiled(), m.replacement) for m in self.masks]
        self.pii = pii
        self.pii_salt = pii_salt
        self.pii_patterns = list(PII_PATTERNS.values() if pii_patterns is None else pii_patterns)
        self._pii = [re.compile(p) for p in self.pii_patterns] if pii else []

    def hash_pii(self, message: str) -> str:
        for rx in self._pii:
            message = rx.sub(lambda m: pii_token(m.group(0), self.pii_salt), message)
        return message

    def mask(self, message: str) -> str:
        if self.pii:
            message = self.hash_pii(message)
        for m, (rx, replacement) in zip(self.masks, self._compiled):
            if m.applies_to(message):
                message = rx.sub(replacement, message)
        return message


def _java_replacement(text: str) -> str:
    # In Java replacement strings `$` and `\` are special.
    return text.replace("\\", "\\\\").replace("$", "\\$")


def spark_pii_column(col, pii_patterns: Sequence[str], salt: str):
    """Spark SQL: replace each PII match with `<PII:sha256(salt+value)[:12]>` (no Python UDF).

    Positional like `re.sub`: the text is split on the pattern and the hashed matches are
    zipped back between the pieces (Java's split and find walk the same matches).
    """
    from pyspark.sql import functions as F

    for pattern in pii_patterns:
        matches = F.regexp_extract_all(col, F.lit(pattern), F.lit(0))
        pieces = F.split(col, pattern, -1)
        hashed = F.transform(
            matches, lambda x: F.concat(F.lit("<PII:"), F.substring(F.sha2(F.concat(F.lit(salt), x), 256), 1, 12), F.lit(">"))
        )
        rest = F.slice(pieces, 2, F.size(matches))
        col = F.when(F.size(matches) == 0, col).otherwise(
            F.concat(pieces[0], F.array_join(F.zip_with(hashed, rest, lambda h, p: F.concat(h, p)), ""))
        )
    return col


def spark_mask(df, column: str, masker: Masker):
    """`df` with `column` replaced by its `Masker.mask` text, as Spark SQL (no Python UDF).

    One projection per guarded mask: `CASE WHEN contains(text, literal) THEN
    regexp_replace(text, ...) ELSE text END` names the text three times, so chained as one
    column expression the tree would triple per mask; as separate projections Spark keeps
    them apart (it does not inline an expensive expression used twice) and whole-stage
    codegen still runs them in one pass.
    """
    from pyspark.sql import functions as F

    if masker.pii:
        df = df.withColumn(column, spark_pii_column(F.col(column), masker.pii_patterns, masker.pii_salt))
    for m in masker.masks:
        text = F.col(column)
        replaced = F.regexp_replace(text, m.pattern, _java_replacement(m.replacement))
        if m.guard:
            has_literal = reduce(lambda a, b: a | b, [text.contains(g) for g in m.guard])
            replaced = F.when(has_literal, replaced).otherwise(text)
        df = df.withColumn(column, replaced)
    return df
