"""The results store: one results root and profile, and everything read from or written to it.

    <root>/<experiment>/<config.key>.json           a finished run (config, history, provenance)
    <root>/<experiment>/<config.key>.weights.pt     its final weights, when asked for
    <root>/.checkpoints/<experiment>/<key>.pt       an unfinished run's checkpoint (not committed)

``Store(profile=...)`` opens ``$RESDEPTH_RESULTS``, else the repository's ``data/results``; the
smoke profile opens ``data/smoke-results`` (ignored by git), so smoke numbers can never be shown
as results. The atomic writes and the default folders are in ``resdepth.files``.

Nothing stored is lost or trusted blindly:
- writes are atomic (temporary file in the same folder, fsync, rename), so a kill at any moment
  leaves the old file or the new one; temporaries left by a killed writer are swept at the next
  open;
- a read re-hashes the record's config and checks it against the file name and the stored key,
  checks the record's ``digest`` (a hash of everything else in it, written with it), so a value
  edited by hand is caught, and checks the fields every reader relies on; anything else fails
  with one line naming the file;
- experiment names are ``[A-Za-z0-9][A-Za-z0-9_.-]*``, so no run can write outside the root;
- weights are loaded with ``torch.load(weights_only=True)``;
- the repository's own book store (``data/results``, which the book shows) takes only runs
  launched by the package's entry points (``python -m resdepth``, the ``resdepth`` command, or a
  chapter notebook), so every run it holds can be re-made from a command in the repository
  (``launcher``; refused before training, and again on save).
"""

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import torch

from .config import RunConfig, check_experiment_name, check_profile, stack_key
from .errors import ConfigError, StoreError
from .files import atomic_torch_save, atomic_write_text, default_results_dir, process_alive, project_data_dir

SCHEMA = "resdepth.result/1"
STATUSES = ("ok", "diverged")
_TEMPORARY = re.compile(r"^\..+\.tmp-(\d+)$")
# the package's entry points, by the first word of a run's provenance ``command`` (jobs.driver_command);
# a bare "__main__.py" is how that was written before 2026-12-04, when only `python -m resdepth` wrote to
# the book's store; papermill and jupyter-book execute chapters through ipykernel_launcher.py
ENTRY_POINTS = {"resdepth/__main__.py": "python -m resdepth", "__main__.py": "python -m resdepth",
                "resdepth": "resdepth", "ipykernel_launcher.py": "a chapter notebook"}


def launcher(command: str) -> str:
    """How a run was started, from its provenance ``command``: one of the package's entry points
    (with the CLI's subcommand), or a script outside the repository, named so."""
    words = command.split()
    if not words:
        return "unknown"
    if words[0] not in ENTRY_POINTS:
        outside = "a python -c command" if words[0] == "-c" else f"script {words[0]}"
        return f"{outside} (outside the repository)"
    if ENTRY_POINTS[words[0]] == "a chapter notebook":
        return ENTRY_POINTS[words[0]]
    return ENTRY_POINTS[words[0]] + (f" {words[1]}" if len(words) > 1 else "")


def is_entry_point(command: str) -> bool:
    """Whether ``command`` (a provenance command) is one of the package's entry points."""
    return bool(command.split()) and command.split()[0] in ENTRY_POINTS


# ----------------------------------------------------------------------------- checks on read


def record_digest(record: dict) -> str:
    """16 hex digits of the SHA-256 of the record without its ``digest``, as canonical JSON."""
    body = {k: v for k, v in record.items() if k != "digest"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]



def check_record(record, path: Path, cfg: RunConfig | None = None) -> dict:
    """Raise ``StoreError`` (one line, naming ``path``) unless ``record`` is a well-formed result
    whose config re-hashes to its stored key, to the file name, and to ``cfg.key`` if given."""
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        raise StoreError(f"{path} is not a resdepth results file (no schema {SCHEMA!r}); move it out of the results dir")
    missing = [k for k in ("key", "config", "status", "steps_done", "total_steps", "history", "final", "best",
                           "provenance") if k not in record]
    if missing:
        raise StoreError(f"{path} lacks field(s) {', '.join(missing)}; it was edited or truncated, delete it and re-run")
    try:
        rehashed = RunConfig.from_dict(record["config"]).key
    except (ConfigError, TypeError, ValueError) as exc:
        raise StoreError(f"{path} holds an invalid config ({exc}); delete it and re-run") from None
    if not (rehashed == record["key"] == path.stem.removesuffix(".weights")):
        raise StoreError(f"{path}: its config hashes to {rehashed} but it is stored as {record['key']} in "
                         f"{path.name}; it was edited or renamed, delete it and re-run")
    if cfg is not None and rehashed != cfg.key:
        raise StoreError(f"{path} holds run {rehashed}, not {cfg.key}; move it away and re-run")
    status, history = record["status"], record["history"]
    if status not in STATUSES or not isinstance(history, list) or not isinstance(record["provenance"], dict):
        raise StoreError(f"{path} has status {status!r} or a history/provenance of the wrong type; delete it and re-run")
    if status == "ok":
        done = record["steps_done"] == record["total_steps"]
        if not (done and history and isinstance(record["final"], dict) and record["final"] == history[-1]
                and record["final"].get("step") == record["steps_done"]):
            raise StoreError(f"{path} says ok but its final metrics are not those of its last step "
                             f"({record['steps_done']} of {record['total_steps']}); delete it and re-run")
    if "digest" not in record:
        raise StoreError(f"{path} has no digest (stored before 2026-12-03); run 'python data/migrations/"
                         f"add_digests.py {path.parent.parent}' once, or delete it and re-run")
    if record["digest"] != record_digest(record):
        raise StoreError(f"{path} was edited after it was stored (its digest does not match its content); "
                         f"restore it from git, or delete it and re-run")
    return record


# ----------------------------------------------------------------------------- the store


class Store:
    """The results of one profile under one root (see the module docstring for the layout)."""

    def __init__(self, root=None, profile: str = "book", reads_from: "Store | None" = None,
                 entry_points_only: bool | None = None):
        """``reads_from``: another store whose finished runs this one also serves, read-only (a
        scratch store reads the book's runs, and writes only its own). ``entry_points_only``: take
        only runs launched by the package's entry points; by default, true for the repository's own
        book store (``data/results`` in the book profile) and false for any other."""
        self.profile = check_profile(profile)
        self.root = Path(root).expanduser() if root is not None else default_results_dir(profile)
        self.reads_from = reads_from
        if entry_points_only is None:
            entry_points_only = profile == "book" and self.root.resolve() == (project_data_dir() / "results").resolve()
        self.entry_points_only = entry_points_only
        self.sweep_temporaries()

    def __repr__(self):
        return f"Store({str(self.root)!r}, profile={self.profile!r})"

    # paths
    def result_path(self, cfg: RunConfig) -> Path:
        return self.root / check_experiment_name(cfg.experiment) / f"{cfg.key}.json"

    def weights_path(self, cfg: RunConfig) -> Path:
        return self.result_path(cfg).with_suffix(".weights.pt")

    def checkpoint_path(self, cfg: RunConfig) -> Path:
        """Where an unfinished run keeps its checkpoint: in the store's own hidden ``.checkpoints``."""
        return self.root / ".checkpoints" / check_experiment_name(cfg.experiment) / f"{cfg.key}.pt"

    def stack_checkpoint_path(self, configs) -> Path:
        """Where an unfinished stack (``resdepth.stack``) keeps its checkpoint."""
        return self.root / ".checkpoints" / "stacks" / f"{stack_key(configs)}.pt"

    def unit_checkpoint_path(self, configs) -> Path:
        """The checkpoint of a sweep's unit of work: one run's, or its stack's."""
        return self.checkpoint_path(configs[0]) if len(configs) == 1 else self.stack_checkpoint_path(configs)

    def check_writable(self, experiments=(), free_bytes: int = 64 * 2**20) -> None:
        """Before training, not after: the store's folders for ``experiments`` (and its checkpoints)
        are directories this process can write, on a disk with ``free_bytes`` to spare (a result,
        its weights and a checkpoint); else one StoreError that names the path and the fix."""
        folders = [self.root, self.root / ".checkpoints", *(self.root / check_experiment_name(e) for e in experiments)]
        for folder in folders:
            try:
                folder.mkdir(parents=True, exist_ok=True)
                probe = folder / f".write-test-{os.getpid()}"
                probe.write_bytes(b"")
                probe.unlink()
            except OSError as exc:
                raise StoreError(f"cannot write results under {folder} ({exc.strerror or type(exc).__name__}); set "
                                 f"RESDEPTH_RESULTS to a writable folder, or fix that path") from None
        free = shutil.disk_usage(self.root).free
        if free < free_bytes:
            raise StoreError(f"only {free / 2**20:.0f} MiB free under {self.root}; free some space (a run needs about "
                             f"{free_bytes / 2**20:.0f} MiB for its result, weights and checkpoint)")

    def check_launcher(self, command: str) -> None:
        """A store that takes only the entry points' runs refuses ``command`` (the driver's, as
        provenance records it) in one line, before anything is trained."""
        if self.entry_points_only and not is_entry_point(command):
            raise StoreError(f"{self.root} is the book's store and takes only runs launched by the package's entry "
                             f"points, not by {launcher(command)}; run `python -m resdepth sweep <experiment>` (or "
                             f"the chapter's notebook), or set RESDEPTH_RESULTS to another folder")

    def sweep_temporaries(self) -> int:
        """Delete the temporary files that killed writers left behind; return how many."""
        swept = 0
        if self.root.is_dir():
            for path in self.root.rglob(".*.tmp-*"):
                match = _TEMPORARY.match(path.name)
                if match and path.is_file() and not process_alive(int(match.group(1))):
                    path.unlink(missing_ok=True)
                    swept += 1
        return swept

    # results
    def read(self, path, cfg: RunConfig | None = None) -> dict:
        """One results file, checked (``check_record``); ``StoreError`` naming the file otherwise."""
        path = Path(path)
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"results file {path} is unreadable ({type(exc).__name__}); move it away or delete it, "
                             f"then re-run") from None
        return check_record(record, path, cfg)

    def load(self, cfg: RunConfig) -> dict | None:
        """The stored result of ``cfg`` (here, else in ``reads_from``), or None if it has not been run."""
        path = self.result_path(cfg)
        if path.exists():
            return self.read(path, cfg)
        return self.reads_from.load(cfg) if self.reads_from else None

    def has_weights(self, cfg: RunConfig) -> bool:
        """Whether the weights of ``cfg`` are stored here or in ``reads_from``."""
        return self.weights_path(cfg).exists() or bool(self.reads_from and self.reads_from.has_weights(cfg))

    def is_finished(self, cfg: RunConfig, with_weights: bool = False) -> bool:
        """True if ``cfg`` is stored, and (``with_weights``) so are its weights where it trained
        to the end (a diverged run has no weights worth keeping and is never retrained for them)."""
        stored = self.load(cfg)
        if stored is None:
            return False
        return not (with_weights and stored["status"] == "ok" and not self.has_weights(cfg))

    def save(self, cfg: RunConfig, record: dict, weights: dict | None = None) -> dict:
        """Write a finished run: weights first, then the result (each atomically), then drop its
        checkpoint. A kill between the writes leaves weights without a result: the run is redone."""
        record = {**{k: v for k, v in record.items() if k != "digest"}, "digest": record_digest(record)}
        check_record(record, self.result_path(cfg), cfg)
        self.check_launcher(record["provenance"].get("command", ""))
        if weights is not None:
            atomic_torch_save(weights, self.weights_path(cfg))
        atomic_write_text(self.result_path(cfg), json.dumps(record, indent=1, sort_keys=False) + "\n")
        self.checkpoint_path(cfg).unlink(missing_ok=True)
        return record

    def records(self, experiment: str | None = None) -> list:
        """Every stored record (of one experiment, or all), each checked on read."""
        folders = [self.root / check_experiment_name(experiment)] if experiment else sorted(
            p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")) if self.root.is_dir() else []
        return [self.read(path) for folder in folders for path in sorted(folder.glob("*.json"))]

    # weights
    def load_weights(self, cfg: RunConfig) -> dict:
        if not self.weights_path(cfg).exists() and self.reads_from and self.reads_from.has_weights(cfg):
            return self.reads_from.load_weights(cfg)
        return self._read_weights(self.weights_path(cfg), cfg.key)

    def load_weights_of(self, ref: str) -> dict:
        """The weights of the stored run ``ref`` = "<experiment>/<key>" (a post-training start)."""
        experiment, key = ref.split("/")
        path = self.root / check_experiment_name(experiment) / f"{key}.weights.pt"
        if not path.is_file() and self.reads_from:
            return self.reads_from.load_weights_of(ref)
        return self._read_weights(path, key)

    @staticmethod
    def _read_weights(path: Path, key: str) -> dict:
        if not path.is_file():
            raise StoreError(f"no stored weights for run {key} at {path}; train it with save_weights=True")
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise StoreError(f"weights file {path} is corrupt ({type(exc).__name__}); delete it and re-run") from None
