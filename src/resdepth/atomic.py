"""Atomic file writes: write a temporary file in the target's folder, fsync, rename over the target.

A rename within one filesystem is atomic, so a reader (or a run killed at any moment) sees either
the old file or the new one, never a half-written one. Temporary files start with '.' and end in
'.tmp-<pid>'; readers never look at them.
"""

import os
from pathlib import Path

import torch


def _tmp_for(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write_text(path, text: str) -> None:
    path = Path(path)
    tmp = _tmp_for(path)
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_torch_save(obj, path) -> None:
    path = Path(path)
    tmp = _tmp_for(path)
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
