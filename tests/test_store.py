"""The store checks what it reads: re-hashed configs, required fields, safe names, swept temporaries."""

import json
import os
import subprocess
import sys

import pytest

from resdepth.config import RunConfig
from resdepth.errors import ConfigError, StoreError
from resdepth.files import atomic_write_text
from resdepth.results import run_or_load
from resdepth.store import Store


def cfg(**changes):
    base = dict(experiment="s", model="tower", model_args=dict(depth=2, width=8), dataset="sample",
                steps=4, batch_size=64, eval_every=2)
    base.update(changes)
    return RunConfig(**base)


@pytest.fixture
def stored():
    store, c = Store(), cfg()
    run_or_load(c, store, progress=False)
    return store, c, store.result_path(c)


def rewrite(path, change):
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


@pytest.mark.parametrize("change, message", [
    (lambda r: r["config"].update(lr=0.5), "hashes to"),  # a hand-edited config, key kept
    (lambda r: r["config"]["model_args"].update(depth=100), "hashes to"),
    (lambda r: r.pop("status"), "lacks field"),
    (lambda r: r.update(status="great"), "status"),
    (lambda r: r.update(final=None), "final metrics"),
    (lambda r: r.update(steps_done=5000, total_steps=5000), "final metrics"),  # a "finished" run from step 4
    (lambda r: r["config"].update(model="vgg"), "invalid config"),
    (lambda r: [r["final"].update(test_acc=0.99), r["history"][-1].update(test_acc=0.99)],
     "edited after it was stored"),  # a value, consistently in both places
    (lambda r: r["best"].update(test_acc=0.99), "edited after it was stored"),
    (lambda r: r["provenance"].update(wall_time_s=1.0), "edited after it was stored"),
    (lambda r: r.pop("digest"), "has no digest.*add_digests.py"),
])
def test_an_edited_record_is_refused_with_one_line_naming_the_file(stored, change, message):
    store, c, path = stored
    rewrite(path, change)
    with pytest.raises(StoreError, match=message) as err:
        store.load(c)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_record_renamed_to_another_key_is_refused(stored):
    store, c, path = stored
    other = cfg(seed=7)
    path.rename(store.result_path(other))
    with pytest.raises(StoreError, match="hashes to"):
        store.load(other)


def test_every_committed_result_rehashes_to_its_file_name(monkeypatch):
    monkeypatch.delenv("RESDEPTH_RESULTS")
    records = Store(profile="book").records()
    assert len(records) > 100  # the book's store: each was re-hashed and checked on read


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "x" * 101, "sp ace", "semi;colon"])
def test_experiment_names_cannot_leave_the_store(name):
    with pytest.raises(ConfigError, match="experiment name"):
        cfg(experiment=name)


def test_start_from_must_name_a_stored_run_safely():
    with pytest.raises(ConfigError, match="start_from"):
        RunConfig(model="repvgg_a0", epochs=1, linearize="layer", start_from="../../etc/passwd")


def test_checkpoints_live_under_the_store_root_and_records_skip_them(stored):
    store, c, _ = stored
    assert store.checkpoint_path(c).is_relative_to(store.root)
    store.checkpoint_path(c).parent.mkdir(parents=True)
    store.checkpoint_path(c).write_bytes(b"x")
    assert [r["key"] for r in store.records()] == [c.key]


def test_temporaries_of_dead_writers_are_swept_at_open_and_live_ones_kept(tmp_path):
    root = tmp_path / "r"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_tmp = root / "s" / f".abc.json.tmp-{int(dead.stdout)}"
    live_tmp = root / "s" / f".def.json.tmp-{os.getpid()}"
    dead_tmp.parent.mkdir(parents=True)
    dead_tmp.write_text("half")
    live_tmp.write_text("being written")
    Store(root)
    assert not dead_tmp.exists() and live_tmp.exists()


def test_save_refuses_a_record_of_another_run(stored):
    store, c, path = stored
    record = json.loads(path.read_text())
    with pytest.raises(StoreError):
        store.save(cfg(seed=3), record)


def test_atomic_write_leaves_no_temporary(tmp_path):
    atomic_write_text(tmp_path / "f.txt", "hello")
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_a_tweaked_chapter_writes_to_the_scratch_store_and_reads_the_books(isolated_store, capsys):
    """book.setup with a parameter changed: new runs go to scratch-results, the book's stored runs
    are served read-only, and the book's store is left byte for byte as it was."""
    from resdepth.book import setup

    book_store = Store(profile="book")
    shared = cfg()
    run_or_load(shared, book_store, progress=False)
    before = {p: p.read_bytes() for p in isolated_store.rglob("*.json")}
    _, store = setup("training_basics", "book", width=48)
    assert "Tweaked parameters (width=48)" in capsys.readouterr().out
    assert store.root == isolated_store.parent / "scratch-results" and store.reads_from.root == isolated_store
    assert store.load(shared) == book_store.load(shared) and store.is_finished(shared)  # served, not retrained
    new = cfg(seed=5)
    run_or_load(new, store, progress=False)
    assert store.result_path(new).is_file() and not book_store.result_path(new).exists()
    assert {p: p.read_bytes() for p in isolated_store.rglob("*.json")} == before
    _, untouched = setup("training_basics", "book")
    assert untouched.root == isolated_store and untouched.reads_from is None


def test_an_unwritable_or_full_results_folder_is_refused_before_training(tmp_path, monkeypatch):
    """Issue 15 item 5: a results path that is a file, or a disk without room, fails before the
    run trains (it used to fail after, throwing the run away), in one line that names the path."""
    import shutil
    from collections import namedtuple

    from resdepth.results import run_or_load

    cfg = RunConfig(experiment="w", model_args=dict(depth=2, width=4), dataset="sample", steps=2)
    trained = []
    monkeypatch.setattr("resdepth.results.train_job", lambda *a, **k: trained.append(1))
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StoreError, match=f"cannot write results under {blocker}.*RESDEPTH_RESULTS") as err:
        run_or_load(cfg, Store(blocker), progress=False)
    assert "\n" not in str(err.value)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 2**20, 2**20))
    with pytest.raises(StoreError, match="only 1 MiB free under .*free some space"):
        run_or_load(cfg, Store(tmp_path / "full"), progress=False)
    assert not trained


@pytest.mark.parametrize("command, launched_by", [
    ("resdepth/__main__.py sweep table1_depth_scaling --budget book_v2", "python -m resdepth sweep"),
    ("__main__.py sweep lambda_sweep", "python -m resdepth sweep"),  # as stored before 2026-12-04
    ("pytest/__main__.py tests", "script pytest/__main__.py (outside the repository)"),
    ("resdepth train --model tower", "resdepth train"),
    ("ipykernel_launcher.py -f /tmp/kernel.json", "a chapter notebook"),
    ("run_table1.py 3", "script run_table1.py (outside the repository)"),
    ("-c", "a python -c command (outside the repository)"),
    ("", "unknown"),
])
def test_launcher_names_the_entry_point_or_the_outside_script(command, launched_by):
    from resdepth.store import is_entry_point, launcher

    assert launcher(command) == launched_by
    assert is_entry_point(command) == ("outside" not in launched_by and launched_by != "unknown")


def test_only_the_repositorys_book_store_is_guarded(monkeypatch, tmp_path):
    assert not Store().entry_points_only  # RESDEPTH_RESULTS (the test's own folder)
    monkeypatch.delenv("RESDEPTH_RESULTS")
    assert Store(profile="book").entry_points_only
    assert not Store(profile="smoke").entry_points_only and not Store(tmp_path).entry_points_only


def test_the_books_store_refuses_a_run_launched_outside_the_entry_points(monkeypatch, tmp_path):
    """Issue 15 item 9: a script outside the repository cannot add to the book's store; it is refused
    before training (run_or_load and sweep) and on save, in one line naming the fix, with nothing
    written. The same run launched by `python -m resdepth` is stored."""
    from resdepth.results import sweep, train_job

    store, c = Store(tmp_path / "book", entry_points_only=True), cfg()
    trained = []
    monkeypatch.setattr("resdepth.results.train_job", lambda *a, **k: trained.append(1))
    monkeypatch.setattr(sys, "argv", ["/home/me/run_table1.py", "3"])
    for attempt in (lambda: run_or_load(c, store, progress=False),
                    lambda: sweep([c], store, progress=False, executor="local")):
        with pytest.raises(StoreError, match=r"book's store .* not by script run_table1.py .*python -m resdepth sweep") as err:
            attempt()
        assert "\n" not in str(err.value)
    assert not trained and not list((tmp_path / "book").rglob("*.json"))
    monkeypatch.setattr(sys, "argv", ["/venv/lib/python3.11/site-packages/pytest/__main__.py", "tests"])
    monkeypatch.setattr("resdepth.results.train_job", train_job)
    record = run_or_load(c, Store(tmp_path / "scratch"), progress=False)  # python -m pytest is not python -m resdepth
    assert record["provenance"]["command"] == "pytest/__main__.py tests"
    with pytest.raises(StoreError, match="not by script pytest/__main__.py"):
        store.save(c, record)
    monkeypatch.setattr(sys, "argv", ["/repo/src/resdepth/__main__.py", "sweep", "s"])
    assert run_or_load(c, store, progress=False)["provenance"]["command"] == "resdepth/__main__.py sweep s"
    assert store.load(c)["status"] == "ok"
