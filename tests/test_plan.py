"""The plan printed before a sweep: counts, measured step times, and the FLOP-based GPU hours."""

import math

import pytest

from resdepth import plan
from resdepth.config import RunConfig
from resdepth.results import sweep
from resdepth.store import Store


def tower(lam="1/sqrt(n)", depth=2, seed=0, **kw):
    args = dict(experiment="plan", model_args=dict(depth=depth, width=4, lam=lam), dataset="sample", batch_size=64,
                lr=0.01, seed=seed, eval_every=10)
    return RunConfig(**{**args, "epochs": 1, **kw})


def test_total_steps_counts_epochs_of_full_batches_or_takes_steps():
    assert plan.total_steps(tower(), 1_000) == 15  # 1000 // 64
    assert plan.total_steps(tower(epochs=3), 1_000) == 45
    assert plan.total_steps(tower(epochs=None, steps=7), 1_000) == 7
    assert plan.total_steps(tower(epochs=2, train_images=640), 60_000) == 20


def test_the_shape_of_a_run_ignores_its_branch_scale_but_not_its_depth():
    assert plan.shape_of(tower(lam="1")) == plan.shape_of(tower(lam="n^-2"))
    assert plan.shape_of(tower(depth=2)) != plan.shape_of(tower(depth=3))
    assert plan.shape_of(tower(seed=1)) == plan.shape_of(tower(seed=2))


def test_sweep_plan_counts_stored_and_to_train_and_times_only_what_trains():
    store = Store(profile="smoke")
    configs = [tower(lam=lam, seed=s, steps=3, epochs=None) for lam in ("1", "1/n") for s in (0, 1)]
    configs.append(tower(depth=3, steps=3, epochs=None))
    sweep(configs[:1], store, executor="local", progress=False)
    table = plan.sweep_plan(configs, store).set_index("arguments")
    shallow = table.loc[[a for a in table.index if "depth=2" in a][0]]
    assert (shallow["runs"], shallow["stored"], shallow["to train"], shallow["steps to train"]) == (4, 1, 3, 9)
    assert 0 < shallow["s/step"] < 5 and shallow["core-hours"] == pytest.approx(9 * shallow["s/step"] / 3600)
    sweep(configs, store, executor="local", progress=False)
    done = plan.sweep_plan(configs, store)
    assert done["to train"].sum() == 0 and done["s/step"].isna().all()
    assert plan.plan_text(done) == "Plan: all 5 runs are stored; nothing to train."
    text = plan.plan_text(table.reset_index(), workers=2)
    assert text.startswith("Plan: 1 runs load, 4 train: about ") and "on 2 worker(s)" in text


def test_a_sweep_prints_its_plan_before_training(capsys):
    sweep([tower(steps=2, epochs=None)], Store(profile="smoke"), executor="local", progress=True)
    assert "Plan: 0 runs load, 1 train: about" in capsys.readouterr().err


def test_gpu_hours_is_steps_times_batch_times_three_forward_passes_over_the_sustained_rate():
    cfg = tower(depth=1, steps=1000, epochs=None, dataset="sample")
    forward = 2 * 49 * 3 * 4 * 16 * 16 + 1 * 2 * (2 * 9 * 4 * 4 * 8 * 8) + 2 * 4 * 10  # stem, block, head
    hours = plan.gpu_hours([cfg, cfg], peak_flops=1e12, utilisation=0.5)
    assert hours == pytest.approx(2 * 1000 * 64 * 3 * forward / 0.5e12 / 3600)
    assert math.isclose(plan.gpu_hours([cfg], 1e12, 0.25), 2 * plan.gpu_hours([cfg], 1e12, 0.5))


def test_post_training_runs_are_timed_as_their_own_step_apart_from_their_start():
    """A plan used to time a group's first run and give its step time to every run of the same model,
    so post-training runs were costed as plain SGD steps (or not at all once their start was stored).
    Each phase is its own group now, timed with PReLUs, AdamW and (phase 1) the penalty."""
    import dataclasses

    from resdepth.linearize import post_train_config

    start = RunConfig(experiment="plan", model="repvgg_a0", model_args=dict(width_scale=0.125), dataset="sample",
                      steps=4, batch_size=32, eval_every=4)
    penalty = [post_train_config(start, g, 1.0, epochs=1, lr=1e-4, batch_size=32) for g in ("channel", "layer")]
    finetune = dataclasses.replace(penalty[0], mask="learned", omega=0.0, start_from=f"plan_post/{penalty[0].key}")
    assert len({plan.shape_of(c) for c in [start, *penalty, finetune]}) == 4
    table = plan.sweep_plan([start, *penalty, finetune], Store(profile="smoke")).set_index("post-training")
    assert list(table.index) == ["—", "channel-wise penalty", "layer-wise penalty", "channel-wise fine-tuning"]
    assert (table["s/step"] > 0).all() and not table["s/step"].isna().any()
    assert "not timed" not in plan.plan_text(table.reset_index())


def test_timed_gpu_hours_sums_steps_times_step_seconds_per_experiment(tmp_path):
    from resdepth.errors import ConfigError
    from resdepth.plan import timed_gpu_hours

    csv = tmp_path / "paper_steps.csv"
    csv.write_text("experiment,model,steps,ms_per_step\n"
                   "table1,tower,3600000,10\n"  # 36,000 s = 10 h
                   "table1,tower,360000,500\n"  # 180,000 s = 50 h
                   "lambda,tower,7200,1000\n")  # 7,200 s = 2 h
    hours = timed_gpu_hours(csv)
    assert hours.to_dict() == pytest.approx({"table1": 60.0, "lambda": 2.0})
    assert timed_gpu_hours(tmp_path / "absent.csv").empty  # not timed yet: the page shows "—"
    csv.write_text("experiment,steps\ntable1,10\n")
    with pytest.raises(ConfigError, match="lacks the column.*ms_per_step.*cuda_check.py --only paper"):
        timed_gpu_hours(csv)
