"""Migration of 2026-12-03: label the stored tower runs with the stem pool they were trained with.

Until 2026-12-03 the tower's stem padded its 3x3/2 max pool by 1 pixel on every side; Flax's
'SAME' (the paper's model, Appendix A) pads 0 before and 1 after on the stem's 16x16 map. The
tower now takes ``stem_pool`` ("same", the default, or "symmetric"). A stored tower record has
no ``stem_pool`` in its config, and would re-hash as a "same" run, so this script writes
``stem_pool: "symmetric"`` into each such config, re-keys the record (new file name, new key) and
notes the old key in its provenance (``relabelled``). Histories, metrics and weights are kept
as they were: they are the symmetric-stem runs they always were.

    python data/migrations/label_symmetric_stem.py [results dir]   # default: data/results

It is idempotent (a labelled record is left alone) and writes atomically, new file before the
old one is removed.
"""

import json
import sys
from pathlib import Path

from resdepth.config import RunConfig
from resdepth.files import atomic_write_text
from resdepth.store import check_record

NOTE = "2026-12-03: stem_pool 'symmetric' written into the config (the stem this run was trained with); was key {}"


def relabel(path: Path) -> Path | None:
    """Label one unlabelled tower record; return its new path (None if nothing to do)."""
    record = json.loads(path.read_text())
    config = record["config"]
    if config["model"] != "tower" or "stem_pool" in config["model_args"]:
        return None
    old_key = record["key"]
    config["model_args"]["stem_pool"] = "symmetric"
    record["key"] = RunConfig.from_dict(config).key
    record["provenance"]["relabelled"] = NOTE.format(old_key)
    new_path = path.with_name(f"{record['key']}.json")
    check_record(record, new_path)
    atomic_write_text(new_path, json.dumps(record, indent=1, sort_keys=False) + "\n")
    old_weights = path.with_suffix(".weights.pt")
    if old_weights.exists():
        old_weights.rename(new_path.with_suffix(".weights.pt"))
    path.unlink()
    return new_path


def main(root: Path) -> None:
    moved = [p for p in sorted(root.glob("*/*.json")) if relabel(p)]
    print(f"relabelled {len(moved)} tower record(s) under {root} as stem_pool='symmetric'")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "data/results"))
