"""Migration of 2026-12-03: give every stored record a ``digest`` (resdepth.store.record_digest).

Since 2026-12-03 a record carries a hash of its own content, checked on every read, so a value
edited by hand (a test accuracy, a status) is refused instead of shown. Records stored before
have none; this script adds it to each, after checking the record as the store did before (the
config re-hashes to its key and file name). Keys and every other field are unchanged.

    python data/migrations/add_digests.py [results dir]   # default: data/results

Idempotent; atomic writes.
"""

import json
import sys
from pathlib import Path

from resdepth.config import RunConfig
from resdepth.files import atomic_write_text
from resdepth.store import record_digest


def add_digest(path: Path) -> bool:
    """Add the digest to one record; False if it had one."""
    record = json.loads(path.read_text())
    if "digest" in record:
        return False
    if not (RunConfig.from_dict(record["config"]).key == record["key"] == path.stem):
        raise SystemExit(f"{path}: its config does not hash to its key; fix or delete it first")
    record["digest"] = record_digest(record)
    atomic_write_text(path, json.dumps(record, indent=1, sort_keys=False) + "\n")
    return True


def main(root: Path) -> None:
    added = sum(add_digest(p) for p in sorted(root.glob("*/*.json")))
    print(f"added a digest to {added} record(s) under {root}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data/results"))
