"""A file-system model registry shared by every model family (stdlib + safetensors only).

    {root}/{name}/v0001/            one immutable folder per registered version
    {root}/{name}/v0001/model.safetensors, config.json, metadata.json   (save_model_folder)
    {root}/{name}/production        a pointer file holding the promoted version ("v0001")

`register` copies a finished folder in under a temporary name and renames it into place,
so readers never see half a version; `promote` rewrites the pointer atomically.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_VERSION = re.compile(r"^v(\d{4,})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
PRODUCTION = "production"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"


class RegistryError(LookupError):
    pass


class ModelRegistry:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _dir(self, name: str) -> Path:
        if not _NAME.match(name):
            raise RegistryError(f"invalid model name {name!r}")
        return self.root / name

    def versions(self, name: str) -> list[str]:
        d = self._dir(name)
        found = [p.name for p in d.iterdir() if p.is_dir() and _VERSION.match(p.name)] if d.is_dir() else []
        return sorted(found, key=lambda v: int(v[1:]))

    def register(self, name: str, folder: str | os.PathLike[str], promote: bool = False) -> str:
        """Copy `folder` in as the next version of `name`; returns the version ("v0003")."""
        src = Path(folder)
        if not src.is_dir():
            raise RegistryError(f"not a model folder: {src}")
        d = self._dir(name)
        d.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=d))
        try:
            shutil.copytree(src, staging, dirs_exist_ok=True)
            while True:  # another writer may take a number first: retry with the next one
                existing = self.versions(name)
                version = f"v{(int(existing[-1][1:]) + 1) if existing else 1:04d}"
                try:
                    staging.rename(d / version)  # fails if the target exists (non-empty dir)
                    break
                except OSError:
                    if not (d / version).exists():
                        raise
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        if promote:
            self.promote(name, version)
        return version

    def promote(self, name: str, version: str) -> None:
        if version not in self.versions(name):
            raise RegistryError(f"{name}: no version {version!r} (have {', '.join(self.versions(name)) or 'none'})")
        pointer = self._dir(name) / PRODUCTION
        tmp = pointer.with_name(f".{PRODUCTION}.{os.getpid()}")
        tmp.write_text(version + "\n", encoding="utf-8")
        os.replace(tmp, pointer)

    def production(self, name: str) -> str | None:
        pointer = self._dir(name) / PRODUCTION
        return pointer.read_text(encoding="utf-8").strip() if pointer.is_file() else None

    def resolve(self, name: str, version: str = PRODUCTION) -> Path:
        """The folder of `version` ("v0002", "production" or "latest")."""
        if version == PRODUCTION:
            resolved = self.production(name)
            if resolved is None:
                raise RegistryError(f"{name}: no production version in {self._dir(name)} (promote one first)")
            version = resolved
        elif version == "latest":
            versions = self.versions(name)
            if not versions:
                raise RegistryError(f"{name}: no versions in {self._dir(name)}")
            version = versions[-1]
        path = self._dir(name) / version
        if not path.is_dir():
            raise RegistryError(f"{name}: no version {version!r} in {self._dir(name)}")
        return path


def save_model_folder(folder: str | os.PathLike[str], tensors: dict[str, Any], config: dict[str, Any], metadata: dict[str, Any]) -> Path:
    """Write weights (safetensors), config.json and metadata.json (adds created_at)."""
    from safetensors.torch import save_file

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(out / WEIGHTS_FILE))
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
    meta = {"created_at": datetime.now(timezone.utc).isoformat(), **metadata}
    (out / METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
    return out


def load_model_folder(folder: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(tensors, config, metadata) of a folder written by save_model_folder."""
    from safetensors.torch import load_file

    d = Path(folder)
    for f in (WEIGHTS_FILE, CONFIG_FILE, METADATA_FILE):
        if not (d / f).is_file():
            raise RegistryError(f"{d}: missing {f}")
    config = json.loads((d / CONFIG_FILE).read_text(encoding="utf-8"))
    metadata = json.loads((d / METADATA_FILE).read_text(encoding="utf-8"))
    return load_file(str(d / WEIGHTS_FILE)), config, metadata
