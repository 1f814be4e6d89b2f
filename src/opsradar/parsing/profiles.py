"""Declared per-system parser settings for the 16 Loghub systems.

The same kind of settings every published Loghub benchmark run uses (logparser's
`benchmark_settings`: per-system preprocessing regexes, characters that end a token,
and one threshold); they are the Brain benchmark's values, on top of our default masks.
They are config, not code paths: `ParsingConfig.profiles` takes the same keys for
your own sources, and `opsradar eval parsing --profiles none` scores without them.
"""

from __future__ import annotations

from typing import Any

_V = "<*>"

LOGHUB_PROFILES: dict[str, dict[str, Any]] = {
    "Proxifier": {
        "extra_masks": ((r"<\d+\ssec", _V), (r"([\w-]+\.)+[\w-]+(:\d+)?", _V), (r"\d{2}:\d{2}(:\d{2})*", _V), (r"[KGTM]B", _V)),
        "delete_patterns": (r"\(.*?\)",),
        "split_after": (",",),
        "variable_threshold": 3,
    },
    "HDFS": {
        "extra_masks": ((r"blk_-?\d+", _V), (r"(\d+\.){3}\d+(:\d+)?", _V)),
        "split_after": (",", ":"),
        "variable_threshold": 2,
    },
    "Hadoop": {
        "extra_masks": ((r"(\d+\.){3}\d+", _V),),
        "split_after": (",", "_", ":", "=", "(", ")"),
        "variable_threshold": 6,
    },
    "Spark": {
        "extra_masks": ((r"(\d+\.){3}\d+", _V), (r"\b[KGTM]?B\b", _V), (r"([\w-]+\.){2,}[\w-]+", _V)),
        "split_after": (",", ":"),
        "variable_threshold": 4,
    },
    "Zookeeper": {
        "extra_masks": ((r"(/|)(\d+\.){3}\d+(:\d+)?", _V),),
        "split_after": (",", ":", "="),
        "variable_threshold": 3,
    },
    "BGL": {
        "extra_masks": ((r"core\.\d+", _V),),
        "split_after": (",", "=", "..", "(", ")"),
        "variable_threshold": 6,
    },
    "HPC": {"split_after": (",", "=", "-", ":"), "variable_threshold": 5},
    "Thunderbird": {
        "extra_masks": ((r"(\d+\.){3}\d+", _V),),
        "split_after": (",", ":", "="),
        "variable_threshold": 3,
    },
    "Windows": {
        "extra_masks": ((r"0x.*?\s", _V),),
        "split_after": (",", ":", "=", "[", "]"),
        "variable_threshold": 3,
    },
    "Linux": {
        "extra_masks": ((r"(\d+\.){3}\d+", _V), (r"\d{2}:\d{2}:\d{2}", _V), (r"J([a-z]{2})", _V)),
        "split_after": (",", "=", ":"),
        "variable_threshold": 4,
    },
    "Android": {
        "extra_masks": (
            (r"(/[\w-]+)+", _V),
            (r"([\w-]+\.){2,}[\w-]+", _V),
            (r"\b(\-?\+?\d+)\b|\b0[Xx][a-fA-F\d]+\b|\b[a-fA-F\d]{4,}\b", _V),
        ),
        "split_after": (",", "(", ")", ":", "="),
        "variable_threshold": 5,
    },
    "HealthApp": {"split_after": (",", ":", "=", "|"), "variable_threshold": 4},
    "Apache": {"extra_masks": ((r"(\d+\.){3}\d+", _V),), "split_after": (",",), "variable_threshold": 4},
    "OpenSSH": {
        "extra_masks": ((r"(\d+\.){3}\d+", _V), (r"([\w-]+\.){2,}[\w-]+", _V)),
        "split_after": (",",),
        "variable_threshold": 6,
    },
    "OpenStack": {
        "extra_masks": ((r"((\d+\.){3}\d+,?)+", _V), (r"/.+?\s ", _V), (r"\d+", _V)),
        "split_after": (",",),
        "variable_threshold": 5,
    },
    "Mac": {"extra_masks": ((r"([\w-]+\.){2,}[\w-]+", _V),), "split_after": (",",), "variable_threshold": 5},
}
