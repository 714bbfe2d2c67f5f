import json
import os

import pytest
import torch

from resdepth import jobs
from resdepth.config import RunConfig
from resdepth.errors import ConfigError, StoreError
from resdepth.results import run_or_load, sweep
from resdepth.store import Store


def cfg(**changes):
    base = dict(experiment="s", model="tower", model_args=dict(depth=2, width=8), dataset="sample",
                steps=4, batch_size=64, eval_every=2)
    base.update(changes)
    return RunConfig(**base)


def test_hash_is_stable_and_content_addressed():
    a = cfg()
    assert a.key == cfg().key and len(a.key) == 16
    assert a.key == cfg(model_args=dict(width=8, depth=2, lam="1/sqrt(n)", batchnorm=False)).key  # defaults explicit
    assert a.key == cfg(lr=0.1).key == RunConfig.from_dict(a.to_dict()).key
    assert len({a.key, cfg(lr=0.2).key, cfg(seed=1).key, cfg(model_args=dict(depth=3, width=8)).key}) == 4
    assert a.key == "%s" % RunConfig.from_dict(json.loads(json.dumps(a.to_dict()))).key


@pytest.mark.parametrize("changes, message", [
    (dict(dataset="imagenet21k"), "unknown dataset"), (dict(model_args=dict(depth=0)), "depth must be"),
    (dict(model_args=dict(depth=4, lam="1/q")), "lam must be"), (dict(lr=-1), "lr must be"),
    (dict(epochs=2), "exactly one of epochs and steps"), (dict(schedule="linear"), "unknown schedule"),
    (dict(model_args=dict(depthh=4)), "takes no argument"),
    (dict(momentum=float("nan")), "momentum must lie in"), (dict(momentum=-0.5), "momentum must lie in"),
    (dict(weight_decay=float("nan")), "weight_decay must be"), (dict(weight_decay=-1e-4), "weight_decay must be"),
    (dict(gamma=float("nan")), "gamma .* must be"), (dict(milestones=(0.5, 1.5)), "milestones must be"),
    (dict(seed=2**63), r"seed must be an integer in \[0, 2\^63\)"), (dict(seed=-1), "seed must be"),
    (dict(train_images=-5), "train_images must be"), (dict(augment="no"), "augment must be true or false"),
    (dict(steps=True, epochs=None), "epochs/steps must be an integer"), (dict(warmup_steps=-1), "warmup_steps"),
])
def test_bad_configs_are_clear_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        cfg(**changes)


def test_run_or_load_stores_provenance_then_loads(monkeypatch, isolated_store):
    c, store = cfg(), Store()
    record = run_or_load(c, store, progress=False)
    path = store.result_path(c)
    assert path == isolated_store / "s" / f"{c.key}.json"
    stored = json.loads(path.read_text())
    assert stored == record and stored["config"] == c.to_dict()
    assert set(stored["provenance"]) >= {"git_commit", "torch", "device", "wall_time_s", "date", "profile"}
    assert stored["best"]["test_acc"] >= stored["final"]["test_acc"] and len(stored["history"]) == 2

    def no_training(*a, **k):
        raise AssertionError("a stored run was trained again")

    monkeypatch.setattr(jobs, "train", no_training)
    assert run_or_load(c, store, progress=False) == record
    assert sweep([c], store, progress=False) == [record]


def test_sweep_skips_finished_runs(monkeypatch):
    done, todo, store = cfg(seed=0), cfg(seed=1), Store()
    run_or_load(done, store, progress=False)
    trained = []
    real = jobs.train
    monkeypatch.setattr(jobs, "train", lambda c, **k: (trained.append(c.key), real(c, **k))[1])
    records = sweep([done, todo], store, progress=False)
    assert trained == [todo.key] and [r["key"] for r in records] == [done.key, todo.key]


def test_kill_between_write_and_rename_keeps_the_old_file(monkeypatch):
    c, store = cfg(), Store()
    record = run_or_load(c, store, progress=False)
    path = store.result_path(c)
    before = path.read_bytes()

    def killed(src, dst):
        raise KeyboardInterrupt("killed before the rename")

    with monkeypatch.context() as m, pytest.raises(KeyboardInterrupt):
        m.setattr(os, "replace", killed)
        store.save(c, {**record, "reason": "rewritten"})
    assert path.read_bytes() == before  # old file intact
    assert store.load(c)["key"] == c.key
    assert not any(p.name.endswith(".json") and p != path for p in path.parent.iterdir())  # no half-file as a result


@pytest.mark.parametrize("content, message", [
    ('{"schema": "resdepth.result/1", "key": ', "unreadable"),
    ('{"accuracy": 0.9}', "not a resdepth results file"),
    ('{"schema": "resdepth.result/1", "key": "0000000000000000"}', "lacks field"),
])
def test_corrupt_or_foreign_files_are_never_overwritten(content, message):
    c, store = cfg(), Store()
    path = store.result_path(c)
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(StoreError, match=message) as err:
        run_or_load(c, store, progress=False)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert path.read_text() == content


def test_smoke_profile_never_writes_into_committed_results(monkeypatch, tmp_path):
    monkeypatch.delenv("RESDEPTH_RESULTS")
    assert Store(profile="smoke").result_path(cfg()).parent.parent.name == "smoke-results"
    assert Store(profile="book").result_path(cfg()).parent.parent.name == "results"
    with pytest.raises(ConfigError, match="unknown profile"):
        Store(tmp_path, profile="fast")


def test_weights_round_trip():
    import torch

    from resdepth.models import build_model

    c, store = cfg(), Store()
    with pytest.raises(StoreError, match="save_weights=True"):
        store.load_weights(c)
    run_or_load(c, store, progress=False, save_weights=True)
    model = build_model("tower", 1, 10, **c.model_kwargs)
    model.load_state_dict(store.load_weights(c))
    assert torch.isfinite(model.eval()(torch.zeros(1, 1, 32, 32))).all()


def test_new_fields_at_default_leave_stored_hashes_alone():
    a = cfg()
    assert a.key == cfg(gc_images=0).key != cfg(gc_images=8).key
    assert a.key == cfg(precision="auto").key != cfg(precision="bf16").key != cfg(precision="fp32").key
    assert "gc_images" in a.to_dict()  # still recorded in the results file


def test_geometric_complexity_is_logged_at_every_evaluation():
    record = run_or_load(cfg(gc_images=8), Store(), progress=False)
    values = [h["geometric_complexity"] for h in record["history"]]
    assert len(values) == 2 and all(v > 0 for v in values)


def test_diverged_run_is_not_retrained_for_its_weights(monkeypatch):
    c = cfg(model_args=dict(depth=100, width=8, lam="1"), lr=1.0, steps=20, eval_every=10)
    first = run_or_load(c, Store(), progress=False, save_weights=True)
    assert first["status"] == "diverged"
    monkeypatch.setattr(jobs, "train", lambda *a, **k: (_ for _ in ()).throw(AssertionError("retrained")))
    assert run_or_load(c, Store(), progress=False, save_weights=True) == first


@pytest.mark.parametrize("retries", [-1, True, 1.5])
def test_sweep_refuses_a_nonsense_retry_count(retries):
    with pytest.raises(ConfigError, match="max_retries must be an integer >= 0"):
        sweep([cfg()], progress=False, max_retries=retries)


def test_the_package_api_loads_a_stored_model_and_lists_an_experiments_runs(isolated_store):
    import resdepth

    c = cfg()
    resdepth.sweep([c], progress=False, save_weights=True, executor="local")
    model = resdepth.load_model(c)
    again = resdepth.load_model(f"{c.experiment}/{c.key}")
    assert not model.training and all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                                         again.state_dict().values()))
    frame = resdepth.runs_frame(c.experiment)
    assert list(frame["key"]) == [c.key] and frame.loc[0, "depth"] == 2 and frame.loc[0, "status"] == "ok"
    with pytest.raises(ConfigError, match="is not stored"):
        resdepth.load_model(f"{c.experiment}/0123456789abcdef")
    assert set(resdepth.__all__) >= {"RunConfig", "Store", "build_model", "load_model", "runs_frame", "sweep"}


def test_load_run_finds_one_run_by_its_config_fields_and_names_what_tells_runs_apart(isolated_store):
    """Issue 14 item 10: resdepth.load_run(experiment, **config) -> (record, model); resdepth.runs."""
    import resdepth

    first, second = cfg(seed=0), cfg(seed=1)
    resdepth.sweep([first, second], progress=False, save_weights=True, executor="local")
    record, model = resdepth.load_run(first.experiment, depth=2, seed=1)
    assert record["key"] == second.key and not model.training
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 resdepth.load_model(second).state_dict().values()))
    assert sorted(resdepth.runs(first.experiment)["seed"]) == [0, 1]
    with pytest.raises(ConfigError, match=r"2 stored runs of .* match; name one more field to choose: seed \(0, 1\)$"):
        resdepth.load_run(first.experiment, depth=2)
    with pytest.raises(ConfigError, match="no stored run of .* has seed=7; resdepth.runs"):
        resdepth.load_run(first.experiment, seed=7)
    with pytest.raises(ConfigError, match="dept is not a field of .*; use one of: .*depth"):
        resdepth.load_run(first.experiment, dept=2)
    with pytest.raises(ConfigError, match="no run of 'nothing_here' is stored"):
        resdepth.load_run("nothing_here", seed=0)


def test_dependency_stages_order_runs_after_the_runs_they_start_from():
    from resdepth.results import dependency_stages

    start = RunConfig(experiment="deps", model_args=dict(depth=2), epochs=1)
    penalty = RunConfig(experiment="deps", model="repvgg_a0", epochs=1, linearize="layer", omega=1.0,
                        start_from=f"deps/{start.key}")
    tuned = penalty.replace(start_from=f"deps/{penalty.key}", omega=0.0, mask="learned")
    alone = RunConfig(experiment="deps", model_args=dict(depth=3), epochs=1)
    everything = [tuned, alone, penalty, start]
    assert dependency_stages(everything, everything) == [[alone, start], [penalty], [tuned]]
    # a start already stored (not to do) still puts its followers one stage later than the roots
    assert dependency_stages([tuned, penalty], everything) == [[penalty], [tuned]]
    assert dependency_stages([tuned], [tuned]) == [[tuned]]  # its start is not in the sweep: stored already


def test_a_run_from_uncommitted_code_stores_the_difference_beside_its_result():
    """Issue 15 item 9: provenance holds the diff of src/ against the commit, untracked files too."""
    import subprocess

    from resdepth.files import REPO_ROOT
    from resdepth.jobs import git_commit

    if subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    probe = REPO_ROOT / "src" / "resdepth" / "_uncommitted_probe.py"
    probe.write_text("PROBE = 'an uncommitted line'\n")
    try:
        code = git_commit()
    finally:
        probe.unlink()
    assert code["git_dirty_src"] is True and "+PROBE = 'an uncommitted line'" in code["git_src_diff"]
    assert "_uncommitted_probe.py" in code["git_src_diff"]
