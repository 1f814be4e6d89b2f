"""Log parsing: variable masking and template mining (docs/parsing.md).

    from opsradar.parsing import TemplateMiner
    templates = TemplateMiner().fit_transform(messages)  # one template text per message

The persisted template store lives in `opsradar.parsing.store` (imports pyarrow).
"""

from opsradar.parsing.masking import BUILTIN_MASKS, DEFAULT_MASKS, Mask, Masker
from opsradar.parsing.miner import EMPTY_TEMPLATE, WILDCARD, MinedTemplate, MinerConfig, TemplateMiner

__all__ = [
    "BUILTIN_MASKS", "DEFAULT_MASKS", "EMPTY_TEMPLATE", "WILDCARD", "Mask", "Masker", "MinedTemplate", "MinerConfig",
    "TemplateMiner", "miner_config",
]


def miner_config(parsing, source: str | None = None) -> MinerConfig:
    """MinerConfig from `OpsRadarConfig.parsing`, with the source's profile applied."""
    profile = parsing.profiles.get(source) if source else None
    values = {
        "masks": parsing.masks, "extra_masks": parsing.extra_masks, "delete_patterns": parsing.delete_patterns,
        "split_after": parsing.split_after, "variable_threshold": parsing.variable_threshold,
    }
    if profile is not None:
        values.update({k: v for k, v in profile.model_dump().items() if v is not None})
    return MinerConfig(
        masks=tuple(values["masks"]),
        extra_masks=tuple(tuple(x) for x in values["extra_masks"]),
        delete_patterns=tuple(values["delete_patterns"]),
        split_after=tuple(values["split_after"]),
        variable_threshold=values["variable_threshold"],
        digit_ratio=parsing.digit_ratio,
        max_message_chars=parsing.max_message_chars,
        pii=parsing.pii,
        pii_salt=parsing.pii_salt.get_secret_value(),
    )
