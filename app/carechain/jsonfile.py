"""The server's small JSON state files (provider directory, faucet ledger, rotation journal,
storage usage): read whole, written whole to a temporary file and renamed over the old one, so a
crash leaves the old contents or the new, never half of them. Callers hold their own lock."""

import json
import os
import tempfile
from pathlib import Path


def read(path: Path) -> dict:
    """The file's object; empty if there is no file yet."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}


def write(path: Path, value: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as file:
        json.dump(value, file, indent=1)  # in insertion order: the directory lists requests as they came
    os.replace(file.name, path)
