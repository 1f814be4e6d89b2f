"""Schemas as files: Arrow schemas, ES templates, GX suites, Kibana objects, formats."""

from importlib import resources
from pathlib import Path


def schema_path(*parts: str) -> Path:
    return Path(str(resources.files(__name__).joinpath(*parts)))
