"""Stacked training (resdepth.stack): K runs as one grouped net follow their separate runs."""

import pytest
import torch
import torch.nn.functional as F

import resdepth.train as train_module
from resdepth.config import RunConfig
from resdepth.errors import ConfigError
from resdepth.jobs import ComplexityLog
from resdepth.models import build_model
from resdepth.stack import (group_stacks, per_run_logits, per_run_lr, stack_models, stack_signature,
                            stacked_input, stacked_sgd_step, train_stack, unstacked_state)
from resdepth.train import train


def tower_runs(lams=("1/sqrt(n)", "1/n", "1"), batchnorm=False, dtype=torch.float64):
    models = []
    for seed, lam in enumerate(lams):
        torch.manual_seed(seed)
        models.append(build_model("tower", 1, 10, depth=3, width=8, lam=lam, batchnorm=batchnorm).to(dtype))
    return models


@pytest.mark.parametrize("batchnorm", [False, True])
def test_stacked_steps_equal_separate_steps_in_fp64(batchnorm):
    """Three SGD steps (momentum, weight decay, a learning rate per run): every run's losses and
    parameters in the stack equal its separate run's to 1e-6 relative."""
    lrs, momentum, wd = [0.05, 0.1, 0.02], 0.9, 5e-4
    separate = tower_runs(batchnorm=batchnorm)
    stacked = stack_models(tower_runs(batchnorm=batchnorm))
    optimizers = [torch.optim.SGD(m.parameters(), lr=lr, momentum=momentum, weight_decay=wd)
                  for m, lr in zip(separate, lrs)]
    params, buffers = list(stacked.parameters()), [None] * len(list(stacked.parameters()))
    lr_blocks = per_run_lr(params, torch.tensor(lrs, dtype=torch.float64))
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        xs = torch.randn(3, 16, 1, 32, 32, generator=g, dtype=torch.float64)
        ys = torch.randint(0, 10, (3, 16), generator=g)
        alone = []
        for m, opt, x, y in zip(separate, optimizers, xs, ys):
            loss = F.cross_entropy(m(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            alone.append(loss.item())
        logits = per_run_logits(stacked(stacked_input(xs)), 3)
        losses = F.cross_entropy(logits.transpose(1, 2), ys, reduction="none").mean(1)
        for p in params:
            p.grad = None
        losses.sum().backward()
        buffers = stacked_sgd_step(params, buffers, lr_blocks, momentum, wd)
        assert losses.tolist() == pytest.approx(alone, rel=1e-6)
    for k, m in enumerate(separate):
        for name, value in unstacked_state(stacked, m, k).items():
            torch.testing.assert_close(value, m.state_dict()[name], rtol=1e-6, atol=1e-9, msg=name)


def small(**changes):
    base = dict(experiment="stack_test", model="tower", dataset="sample", steps=12, batch_size=32, lr=0.05,
                eval_every=6, model_args=dict(depth=2, width=8, lam="1/sqrt(n)"))
    base.update(changes)
    return RunConfig(**base)


def without_timing(history):
    return [{k: v for k, v in h.items() if k not in ("images_per_s", "elapsed_s")} for h in history]


def test_train_stack_matches_separate_runs_in_fp32():
    """The fp32 loop: each run of a stack of 3 (other seeds, learning rates and lam) ends with the
    history of its separate run; the first (stable) row to 1e-5, the last to 1e-3."""
    configs = [small(), small(seed=1, lr=0.02), small(seed=2, model_args=dict(depth=2, width=8, lam="1/n"))]
    stacked = train_stack(configs, device="cpu", progress=False)
    for cfg, (record, model) in zip(configs, stacked):
        alone, alone_model = train(cfg, device="cpu", progress=False)
        assert record["status"] == alone["status"] == "ok" and record["steps_done"] == 12
        first, last = without_timing(record["history"]), without_timing(alone["history"])
        assert first[0] == pytest.approx(last[0], rel=1e-5)
        assert first[-1] == pytest.approx(last[-1], rel=1e-3, abs=1e-3)
        assert sorted(record["stacked_with"]) == sorted(c.key for c in configs if c.key != cfg.key)
        assert model.state_dict().keys() == alone_model.state_dict().keys()


def test_a_diverging_run_ends_alone_and_leaves_the_others_as_they_were():
    steady = small(seed=3)
    wild = small(lr=50.0, model_args=dict(depth=2, width=8, lam="1"))
    (wild_record, _), (steady_record, _) = train_stack([wild, steady], device="cpu", progress=False)
    alone, _ = train(wild, device="cpu", progress=False)
    assert wild_record["status"] == alone["status"] == "diverged"
    assert wild_record["steps_done"] == alone["steps_done"]
    assert steady_record["status"] == "ok"
    reference, _ = train(steady, device="cpu", progress=False)
    assert without_timing(steady_record["history"])[0] == pytest.approx(without_timing(reference["history"])[0],
                                                                        rel=1e-5)


def test_resumed_stack_equals_uninterrupted_stack(tmp_path, monkeypatch):
    configs = [small(), small(seed=1, lr=0.02)]
    reference = train_stack(configs, progress=False)
    real_save = train_module.save_checkpoint

    def save_then_die(state, path):
        real_save(state, path)
        raise KeyboardInterrupt(f"killed right after the checkpoint at step {state['step']}")

    import resdepth.stack as stack_module

    monkeypatch.setattr(stack_module, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_stack(configs, checkpoint_path=tmp_path / "stack.pt", checkpoint_every=4, progress=False)
    monkeypatch.setattr(stack_module, "save_checkpoint", real_save)
    resumed = train_stack(configs, checkpoint_path=tmp_path / "stack.pt", checkpoint_every=4, progress=False)
    for (a, model_a), (b, model_b) in zip(reference, resumed):
        assert b["resumed_from_step"] == 4
        assert without_timing(a["history"]) == without_timing(b["history"])
        for name, value in model_a.state_dict().items():
            assert torch.equal(value, model_b.state_dict()[name]), name


def test_a_checkpoint_of_another_stack_is_refused(tmp_path, monkeypatch):
    import resdepth.stack as stack_module

    def save_then_die(state, path):
        train_module.save_checkpoint(state, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(stack_module, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train_stack([small(), small(seed=1)], checkpoint_path=tmp_path / "s.pt", checkpoint_every=4, progress=False)
    with pytest.raises(Exception, match="belongs to config"):
        train_stack([small(), small(seed=2)], checkpoint_path=tmp_path / "s.pt", progress=False)


def test_read_only_extensions_see_their_own_run():
    configs = [small(gc_images=8), small(seed=1, gc_images=8, model_args=dict(depth=2, width=8, lam="1"))]
    stacked = train_stack(configs, extensions=[[ComplexityLog(8)], [ComplexityLog(8)]], device="cpu", progress=False)
    for cfg, (record, _) in zip(configs, stacked):
        alone, _ = train(cfg, extensions=[ComplexityLog(8)], device="cpu", progress=False)
        assert record["history"][0]["geometric_complexity"] == pytest.approx(
            alone["history"][0]["geometric_complexity"], rel=1e-4)


def test_grouping_keeps_incompatible_runs_apart():
    a, b = small(), small(seed=1, lr=0.2, model_args=dict(depth=2, width=8, lam="1/n"))
    deeper, post = small(model_args=dict(depth=3, width=8)), small(start_from="x/0123456789abcdef", linearize="channel")
    assert stack_signature(a) == stack_signature(b) != stack_signature(deeper)
    assert stack_signature(post) is None
    assert group_stacks([a, deeper, b, post], 8) == [[a, b], [deeper], [post]]
    assert group_stacks([a, b], 1) == [[a], [b]]
    assert group_stacks([a, b, small(seed=5)], 2) == [[a, b], [small(seed=5)]]
    with pytest.raises(ConfigError, match="stack size"):
        group_stacks([a], 0)
    with pytest.raises(ConfigError, match="cannot be stacked"):
        train_stack([a, deeper], progress=False)


def test_models_without_stacked_scalars_are_refused():
    models = [build_model("resnet20", 1, 10) for _ in range(2)]
    with pytest.raises(ConfigError, match="STACKED_SCALARS"):
        stack_models(models)
    assert stack_signature(small(model="resnet20", model_args={})) is None
