import math
import pytest
import torch

from resdepth import train as train_module
from resdepth.config import RunConfig
from resdepth.errors import ConfigError, StoreError
from resdepth.results import run_or_load
from resdepth.store import Store
from resdepth.train import Extension, lr_factor, parameter_groups, train


def small(**changes):
    base = dict(experiment="t", model="tower", model_args=dict(depth=2, width=8), dataset="sample",
                steps=12, batch_size=64, lr=0.05, eval_every=4, seed=3)
    base.update(changes)
    return RunConfig(**base)


def test_training_learns_on_real_data():
    record, _ = train(small(model_args=dict(depth=2, width=16), steps=None, epochs=3, eval_every=None), progress=False)
    assert record["status"] == "ok" and len(record["history"]) == 3
    assert record["history"][-1]["train_loss"] < record["history"][0]["train_loss"]
    assert record["best"]["test_acc"] > 0.5  # chance is 0.1


def test_divergence_is_recorded_not_raised():
    cfg = small(model_args=dict(depth=100, width=8, lam="1", batchnorm=False), lr=1.0, steps=20, eval_every=10)
    record = run_or_load(cfg, Store(), progress=False)
    assert record["status"] == "diverged" and "non-finite" in record["reason"]
    assert record["final"] is None and record["steps_done"] < 20
    assert Store().load(cfg)["status"] == "diverged"  # stored, so a table can show it as "—"


def test_resumed_run_equals_uninterrupted_run(tmp_path, monkeypatch):
    cfg = small()
    reference, reference_model = train(cfg, progress=False)

    real_save = train_module.save_checkpoint

    def save_then_die(state, path):
        real_save(state, path)
        raise KeyboardInterrupt("killed right after the checkpoint at step %d" % state["step"])

    ckpt = tmp_path / "run.pt"
    monkeypatch.setattr(train_module, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, checkpoint_path=ckpt, checkpoint_every=6, progress=False)
    assert torch.load(ckpt, weights_only=True)["step"] == 6
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)

    resumed, resumed_model = train(cfg, checkpoint_path=ckpt, checkpoint_every=6, progress=False)
    for (name, a), (_, b) in zip(reference_model.state_dict().items(), resumed_model.state_dict().items()):
        assert torch.equal(a, b), name
    strip = lambda hist: [{k: v for k, v in h.items() if k not in ("images_per_s", "elapsed_s")} for h in hist]
    assert strip(resumed["history"]) == strip(reference["history"])
    assert resumed["resumed_from_step"] == 6 and reference["resumed_from_step"] == 0


def test_a_resume_with_another_cpu_thread_count_is_refused_in_one_line(tmp_path, monkeypatch):
    cfg = small()
    real_save = train_module.save_checkpoint

    def save_then_die(state, path):
        real_save(state, path)
        raise KeyboardInterrupt("killed right after the checkpoint")

    ckpt = tmp_path / "run.pt"
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        monkeypatch.setattr(train_module, "save_checkpoint", save_then_die)
        with pytest.raises(KeyboardInterrupt):
            train(cfg, checkpoint_path=ckpt, checkpoint_every=6, device="cpu", progress=False)
        monkeypatch.setattr(train_module, "save_checkpoint", real_save)
        assert torch.load(ckpt, weights_only=True)["threads"] == 1
        torch.set_num_threads(2)
        with pytest.raises(StoreError, match=r"written on 1 CPU thread\(s\), this run has 2 .*delete it to restart") as err:
            train(cfg, checkpoint_path=ckpt, checkpoint_every=6, device="cpu", progress=False)
        assert "\n" not in str(err.value)
        torch.set_num_threads(1)
        resumed, _ = train(cfg, checkpoint_path=ckpt, checkpoint_every=6, device="cpu", progress=False)  # the same count resumes
        assert resumed["resumed_from_step"] == 6
    finally:
        torch.set_num_threads(threads)


def test_run_or_load_resumes_and_cleans_up(monkeypatch):
    cfg, store = small(), Store()
    real_save = train_module.save_checkpoint
    monkeypatch.setattr(train_module, "save_checkpoint",
                        lambda s, p: (real_save(s, p), (_ for _ in ()).throw(KeyboardInterrupt())))
    with pytest.raises(KeyboardInterrupt):
        run_or_load(cfg, store, progress=False, checkpoint_every=8)
    assert store.checkpoint_path(cfg).is_file() and store.load(cfg) is None
    assert store.checkpoint_path(cfg).is_relative_to(store.root)  # checkpoints live under the store's root
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    record = run_or_load(cfg, store, progress=False, checkpoint_every=8)
    assert record["steps_done"] == 12 and [h["step"] for h in record["history"]] == [4, 8, 12]
    assert not store.checkpoint_path(cfg).exists()


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    ckpt = tmp_path / "bad.pt"
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(StoreError, match="corrupt.*delete it"):
        train(small(), checkpoint_path=ckpt, progress=False)
    assert ckpt.read_bytes() == b"not a checkpoint"  # left for the user to inspect


def test_checkpoint_of_another_config_is_refused(tmp_path, monkeypatch):
    ckpt = tmp_path / "other.pt"
    real_save = train_module.save_checkpoint
    monkeypatch.setattr(train_module, "save_checkpoint",
                        lambda s, p: (real_save(s, p), (_ for _ in ()).throw(KeyboardInterrupt())))
    with pytest.raises(KeyboardInterrupt):
        train(small(seed=1), checkpoint_path=ckpt, checkpoint_every=4, progress=False)
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    with pytest.raises(StoreError, match="belongs to config"):
        train(small(seed=2), checkpoint_path=ckpt, progress=False)


@pytest.mark.parametrize("edit", [dict(step=5000), dict(step=-3), dict(step=2)])
def test_a_checkpoint_whose_step_is_impossible_is_refused(tmp_path, monkeypatch, edit):
    """A checkpoint past the run's end, before step 0, or behind its own evaluations is refused,
    never stored as a finished run with a "final" from another step."""
    import torch

    ckpt = tmp_path / "edited.pt"
    real_save = train_module.save_checkpoint
    monkeypatch.setattr(train_module, "save_checkpoint",
                        lambda s, p: (real_save(s, p), (_ for _ in ()).throw(KeyboardInterrupt())))
    with pytest.raises(KeyboardInterrupt):
        train(small(), checkpoint_path=ckpt, checkpoint_every=8, progress=False)  # evaluations at 4 and 8
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    state = torch.load(ckpt, weights_only=True)
    state.update(edit)
    torch.save(state, ckpt)
    with pytest.raises(StoreError, match="inconsistent, delete it"):
        train(small(), checkpoint_path=ckpt, progress=False)


def test_schedules():
    total = 100
    constant = lr_factor(small(schedule="constant"), total)
    cosine = lr_factor(small(schedule="cosine"), total)
    multistep = lr_factor(small(schedule="multistep", milestones=(0.5, 0.75), gamma=0.1), total)
    warm = lr_factor(small(warmup_steps=10), total)
    assert constant(0) == constant(99) == 1.0
    assert cosine(0) == 1.0 and cosine(50) == pytest.approx(0.5) and cosine(100) == pytest.approx(0.0)
    assert multistep(49) == 1.0 and multistep(50) == pytest.approx(0.1) and multistep(80) == pytest.approx(0.01)
    assert warm(0) == pytest.approx(0.1) and warm(9) == 1.0


def test_lr_schedule_reaches_the_optimizer():
    record, _ = train(small(schedule="multistep", milestones=(0.5,), gamma=0.1, steps=8, eval_every=4), progress=False)
    assert [h["lr"] for h in record["history"]] == pytest.approx([0.005, 0.005])  # set after step 4 and step 8


def test_flagged_parameters_get_no_weight_decay():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.PReLU(3))
    model[1].weight.no_weight_decay = True
    groups = parameter_groups(model, weight_decay=5e-4)
    assert groups[0]["weight_decay"] == 5e-4 and len(groups[0]["params"]) == 2
    assert groups[1]["weight_decay"] == 0.0 and groups[1]["params"][0] is model[1].weight


def test_cpu_bf16_without_bf16_kernels_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(train_module, "cpu_has_bf16_kernels", lambda: False)
    with pytest.raises(ConfigError, match="precision 'bf16' needs a CPU with bf16 kernels.*use precision 'fp32'"):
        train(small(precision="bf16"), device="cpu", progress=False)


@pytest.mark.skipif(not train_module.cpu_has_bf16_kernels(), reason="this CPU has no bf16 kernels (AVX512-BF16/AMX)")
def test_cpu_bf16_autocast_is_opt_in_and_recorded():
    fp32, _ = train(small(), device="cpu", progress=False)
    bf16, _ = train(small(precision="bf16"), device="cpu", progress=False)
    assert fp32["precision"] == "fp32" and bf16["precision"] == "bf16-autocast"
    assert math.isfinite(bf16["final"]["test_loss"])
    assert bf16["final"]["test_loss"] != fp32["final"]["test_loss"]  # it really ran in another precision


class _StopAtFirstEvaluation(Extension):
    name = "stopper"

    def __init__(self):
        self.seen = []

    def should_stop(self, entry):
        self.seen.append(entry["step"])
        return True

    def summary(self, model):
        return {"evaluations": list(self.seen)}


def test_an_extension_can_end_the_run_and_store_a_summary():
    full, _ = train(small(), progress=False)
    stopped, _ = train(small(), progress=False, extensions=[_StopAtFirstEvaluation()])
    assert stopped["steps_done"] == full["history"][0]["step"] < full["total_steps"]
    assert stopped["status"] == "ok" and "stopped by an extension" in stopped["reason"]
    assert stopped["stopper"] == {"evaluations": [4]}
    assert [h["elapsed_s"] > 0 for h in full["history"]] == [True] * 3
    assert full["history"][0]["elapsed_s"] < full["history"][-1]["elapsed_s"]  # cumulative


HOST_READS = ("item", "tolist", "cpu", "__bool__", "__float__", "__int__", "numpy")


def host_reads_of(run, monkeypatch) -> int:
    """How many times ``run()`` reads a tensor's value on the host (each is a device sync on a GPU)."""
    count = [0]
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            count[0] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    try:
        run()
    finally:
        monkeypatch.undo()
    return count[0]


@pytest.mark.parametrize("stacked", [False, True])
def test_no_host_sync_per_step(monkeypatch, stacked):
    """Twice the steps between the same number of logs and evaluations reads the device no more
    often: the hot loop itself never waits for the device."""
    from resdepth.stack import train_stack

    def run(steps):
        cfg = small(steps=steps, eval_every=steps)
        if stacked:
            return lambda: train_stack([cfg, cfg.replace(seed=1)], log_every=steps, progress=False)
        return lambda: train(cfg, log_every=steps, progress=False)

    assert host_reads_of(run(8), monkeypatch) == host_reads_of(run(16), monkeypatch) > 0


def test_intermediate_evaluations_can_use_a_test_subset_and_the_last_uses_all():
    record, _ = train(small(eval_images=200), progress=False)
    assert [h["test_images"] for h in record["history"]] == [200, 200, 1000]  # the sample's test split: 1000
    full, _ = train(small(), progress=False)
    assert record["final"]["test_acc"] == full["final"]["test_acc"]  # the subset changes what is read, not the run
    assert small(eval_images=None).key == small().key  # hash-neutral at its default
    with pytest.raises(Exception, match="eval_images must be an integer >= 1"):
        small(eval_images=0)


def test_the_finite_divergence_rule_on_hand_made_histories():
    from resdepth.train import exploded

    chance, blown = dict(test_acc=0.1, train_loss=1e6), dict(test_acc=0.1, train_loss=2e6)
    fine = dict(test_acc=0.8, train_loss=0.5)
    assert exploded([fine, chance, blown], 10)  # above 10 ln 10 = 23.03, at chance, twice in a row, not falling
    assert exploded([dict(test_acc=0.1, train_loss=24.0)] * 2, 10)  # just above the threshold, flat
    assert not exploded([chance, fine], 10) and not exploded([chance], 10)  # once is not enough
    assert not exploded([chance, dict(test_acc=0.16, train_loss=2e6)], 10)  # above 1.5 x chance
    assert not exploded([chance, dict(test_acc=0.1, train_loss=23.0)], 10)  # below 10 ln 10
    # A tiny post-training run of the tests recovering from its fused start (measured 2026-12-03):
    # far above the threshold and at chance, but falling, so it is still training, not diverged.
    assert not exploded([dict(test_acc=0.1, train_loss=578.86), dict(test_acc=0.12, train_loss=138.88)], 10)
    # The same run at 10x the learning rate, whose loss grew at chance: diverged.
    assert exploded([dict(test_acc=0.097, train_loss=6257.42), dict(test_acc=0.1, train_loss=26661.84)], 10)
    assert exploded([dict(test_acc=0.5, train_loss=1e6)] * 2, 2)  # chance follows k: 0.5 is chance for 2 classes
    assert not exploded([dict(test_acc=0.8, train_loss=1e6)] * 2, 2)  # above 1.5 / 2


class ExplodedMetrics(Extension):
    """Reports a finite, exploded training loss at chance accuracy from the second evaluation on."""

    def __init__(self):
        self.evaluations = 0

    def metrics(self, model):
        self.evaluations += 1
        return {"train_loss": 1e20, "test_acc": 0.1} if self.evaluations >= 2 else {}


def test_a_finite_loss_that_exploded_at_chance_ends_the_run_as_diverged():
    record, _ = train(small(steps=40, eval_every=4), progress=False, extensions=[ExplodedMetrics()])
    assert record["status"] == "diverged" and record["steps_done"] == 12  # evaluations 2 and 3: steps 8 and 12
    assert "above 10 x ln(classes) and not falling, at chance test accuracy, for 2 evaluations by step 12" in record["reason"]
    assert record["final"] is None


def test_no_stored_book_run_marked_ok_meets_the_finite_divergence_rule(monkeypatch):
    """The rule was adopted after the book's runs were stored (2026-12-03): none it would call
    diverged is stored as ok, so it changes no stored result."""
    from resdepth.train import exploded

    monkeypatch.delenv("RESDEPTH_RESULTS")
    records = [r for r in Store(profile="book").records() if r["status"] == "ok"]
    assert records
    for r in records:
        assert r["config"]["dataset"] == "fashion_mnist"
        classes = len(r["config"].get("classes") or range(10))  # a class subset: the difficulty ladder's runs
        assert not any(exploded(r["history"][: i + 1], classes) for i in range(len(r["history"]))), r["key"]
