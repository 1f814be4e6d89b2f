"""Deterministic identities: the same input always yields the same id (see DESIGN.md)."""

from __future__ import annotations

import hashlib


def stable_id(*parts: object, size: int = 16) -> str:
    """Hex digest of the parts, joined unambiguously (length-prefixed)."""
    h = hashlib.blake2b(digest_size=size)
    for part in parts:
        data = str(part).encode("utf-8", "surrogateescape")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def event_id(source: str, file_identity: str, byte_offset: int) -> str:
    return stable_id("event", source, file_identity, byte_offset)


def template_id(template_text: str) -> str:
    return stable_id("template", template_text, size=8)


def window_id(source: str, grouping: str, entity: str, start: str, end: str) -> str:
    return stable_id("window", source, grouping, entity, start, end)


def document_id(family: str, key: str, model_family: str = "") -> str:
    return stable_id("doc", family, key, model_family)
