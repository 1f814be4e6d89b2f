"""Template mining: a Brain-style parser (Yu et al., "Brain: Log Parsing with
Bidirectional Parallel Tree", IEEE INFOCOM 2023), run on distinct masked messages.

Idea: a logging statement prints the same constant words every time, so inside one
message the constant words share one (position, word) frequency, the most common
frequency value of the message. Messages are grouped by token count and by that root
frequency; inside a group, the positions whose frequency differs from the root are
children, and a child position with at least `variable_threshold` distinct words is a
variable. Tokens made mostly of digits are variables too.

Input is a list of DISTINCT masked messages with their line counts (weights), so
frequencies equal those over all lines while the work scales with distinct messages.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from opsradar.parsing.masking import DEFAULT_MASKS, PLACEHOLDER_RE, Masker, resolve_masks

WILDCARD = "<*>"
EMPTY_TEMPLATE = "<EMPTY>"


@dataclass(frozen=True)
class MinerConfig:
    """Everything that decides a template; `opsradar.config.ParsingConfig` builds one."""

    masks: tuple[str, ...] = DEFAULT_MASKS
    extra_masks: tuple[tuple[str, str], ...] = ()  # (regex, placeholder), applied before the builtins
    delete_patterns: tuple[str, ...] = ()  # regexes removed before tokenising
    split_after: tuple[str, ...] = (",", ":", "=")  # a token also ends after one of these strings
    variable_threshold: int = 4  # distinct words at a child position that make it a variable
    digit_ratio: float = 0.3  # a token with at least this share of digits is a variable
    max_message_chars: int = 4096  # longer messages are truncated for mining only
    pii: bool = False
    pii_salt: str = ""

    def masker(self) -> Masker:
        return Masker(resolve_masks(self.masks, self.extra_masks), pii=self.pii, pii_salt=self.pii_salt)


@dataclass
class MinedTemplate:
    template: str
    tokens: tuple[str, ...]
    count: int = 0  # lines (sum of weights)
    messages: list[int] = field(default_factory=list)  # indexes into the mined input


class Tokenizer:
    def __init__(self, cfg: MinerConfig):
        self.cfg = cfg
        singles = [x for x in cfg.split_after if len(x) == 1]
        if singles and len(singles) == len([x for x in cfg.split_after if x]):  # linear-time character classes
            cls = "".join(re.escape(x) for x in singles)
            self._token = re.compile(rf"[^\s{cls}]*[{cls}]|[^\s{cls}]+")
        else:
            splits = "|".join(re.escape(x) for x in sorted(cfg.split_after, key=len, reverse=True) if x)
            self._token = re.compile(rf"\S*?(?:{splits})|\S+" if splits else r"\S+")
        self._delete = [re.compile(p) for p in cfg.delete_patterns]

    def prepare(self, masked: str) -> str:
        """Text mined for a masked message: deletions applied, truncated."""
        for rx in self._delete:
            masked = rx.sub("", masked)
        return masked[: self.cfg.max_message_chars]

    def spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in self._token.finditer(text)]


def _digit_heavy(token: str, ratio: float) -> bool:
    digits = sum(c.isdigit() for c in token)
    return digits > 0 and digits / len(token) >= ratio


class TemplateMiner:
    """Mask, tokenise and mine templates. `fit_transform(messages)` -> template per message."""

    def __init__(self, config: MinerConfig | None = None):
        self.config = config or MinerConfig()
        self.masker = self.config.masker()
        self.tokenizer = Tokenizer(self.config)

    # -- public API -------------------------------------------------------------------
    def fit_transform(self, messages: Sequence[str]) -> list[str]:
        """Template text for each raw message (duplicates are mined once)."""
        limit = self.config.max_message_chars
        cache: dict[str, str] = {}  # mask each distinct raw message once
        masked = [cache.get(m) or cache.setdefault(m, self.masker.mask((m or "")[:limit])) for m in messages]
        distinct: dict[str, int] = {}
        weights: list[int] = []
        index = []
        for text in masked:
            i = distinct.setdefault(text, len(distinct))
            if i == len(weights):
                weights.append(0)
            weights[i] += 1
            index.append(i)
        templates = self.mine(list(distinct), weights)
        return [templates[i] for i in index]

    def tokenize(self, masked: str) -> tuple[str, ...]:
        """Tokens of an already-masked message, as mining sees them."""
        return self.split(masked)[2]

    def split(self, masked: str) -> tuple[str, list[tuple[int, int]], tuple[str, ...]]:
        """(mined text, token spans, tokens) of an already-masked message."""
        text = self.tokenizer.prepare(masked)
        spans = self.tokenizer.spans(text)
        return text, spans, tuple(text[a:b] for a, b in spans)

    def mine(self, masked: Sequence[str], weights: Sequence[int] | None = None) -> list[str]:
        """Template text for each DISTINCT already-masked message (weights: line counts)."""
        return [t.template for t in self.mine_templates(masked, weights)[1]]

    def mine_templates(
        self, masked: Sequence[str], weights: Sequence[int] | None = None, split: Sequence[tuple] | None = None
    ) -> tuple[list[MinedTemplate], list[MinedTemplate]]:
        """(distinct templates, template of each input message); `split`: `self.split(m)` of each, if known."""
        weights = weights if weights is not None else [1] * len(masked)
        split = split if split is not None else [self.split(m) for m in masked]
        texts = [x[0] for x in split]
        spans = [x[1] for x in split]
        tokens = [x[2] for x in split]

        freq: Counter[tuple[int, str]] = Counter()
        for toks, w in zip(tokens, weights):
            for pos, tok in enumerate(toks):
                freq[(pos, tok)] += w

        # Initial groups: (token count, root frequency, number of words at that frequency).
        groups: dict[tuple[int, int, int], list[int]] = defaultdict(list)
        freqs: list[list[int]] = []
        for i, toks in enumerate(tokens):
            fvec = [freq[(pos, tok)] for pos, tok in enumerate(toks)]
            freqs.append(fvec)
            if not toks:
                groups[(0, 0, 0)].append(i)
                continue
            root_freq, root_n = Counter(fvec).most_common(1)[0]
            groups[(len(toks), root_freq, root_n)].append(i)

        by_key: dict[tuple[str, ...], MinedTemplate] = {}
        per_message: list[MinedTemplate | None] = [None] * len(masked)
        threshold, ratio = self.config.variable_threshold, self.config.digit_ratio
        for (_, root_freq, _), members in groups.items():
            first = members[0]
            children = [pos for pos, f in enumerate(freqs[first]) if f != root_freq]
            variables: set[str] = set()
            for pos in children:
                words = {tokens[i][pos] for i in members}
                if len(words) >= threshold:
                    variables |= words
            for i in members:
                tpl = tuple(
                    WILDCARD if tok in variables or WILDCARD in tok or PLACEHOLDER_RE.search(tok) or _digit_heavy(tok, ratio)
                    else tok
                    for tok in tokens[i]
                )
                mined = by_key.get(tpl)
                if mined is None:
                    mined = by_key[tpl] = MinedTemplate(self._render(texts[i], spans[i], tpl), tpl)
                mined.count += weights[i]
                mined.messages.append(i)
                per_message[i] = mined
        return list(by_key.values()), per_message  # type: ignore[return-value]

    def _render(self, text: str, spans: list[tuple[int, int]], tpl: tuple[str, ...]) -> str:
        """Template text keeping the message's own spacing; a variable keeps its split character."""
        if not spans:
            return EMPTY_TEMPLATE
        out, last = [], 0
        splits = self.config.split_after
        for (a, b), tok in zip(spans, tpl):
            out.append(text[last:a])
            if tok == WILDCARD:
                tok += next((x for x in splits if x and text[a:b].endswith(x) and b - a > len(x)), "")
            out.append(tok)
            last = b
        out.append(text[last:])
        return "".join(out).strip()
