import pytest
import torch

from resdepth.config import RunConfig
from resdepth.errors import ConfigError, StoreError
from resdepth.linearize import (LinearizablePReLU, freeze_linear_units, l05_penalty, post_train_config, prelus,
                                to_prelu)
from resdepth.models import build_model
from resdepth.results import run_or_load
from resdepth.store import Store
from resdepth.train import make_optimizer, parameter_groups


@pytest.mark.parametrize("name, args", [("repvgg_a0", dict(width_scale=0.125)), ("resnet56", {}), ("plain56", {})])
@pytest.mark.parametrize("granularity", ["channel", "layer"])
def test_prelu_swap_is_exact_at_init(name, args, granularity):
    torch.manual_seed(0)
    model = build_model(name, 3, 10, **args).eval()
    x = torch.randn(4, 3, 32, 32)
    before = model(x)
    relus = sum(isinstance(m, torch.nn.ReLU) for m in model.modules())
    to_prelu(model, x, granularity)
    assert not any(isinstance(m, torch.nn.ReLU) for m in model.modules())
    assert len(prelus(model)) == relus
    assert torch.equal(model(x), before)
    expected = {1} if granularity == "layer" else ({16, 32, 64} if name != "repvgg_a0" else set(model.widths))
    assert {m.alpha.numel() for m in prelus(model)} == expected


def test_channel_slopes_act_per_channel():
    act = LinearizablePReLU(2)
    act.alpha.data = torch.tensor([0.5, 1.0])
    x = -torch.ones(1, 2, 2, 2)
    out = act(x)
    assert torch.all(out[:, 0] == -0.5) and torch.all(out[:, 1] == -1.0)


def test_freeze_rule_fixes_slopes_at_one_and_drops_them_from_penalty_and_gradient():
    act = LinearizablePReLU(3)
    act.alpha.data = torch.tensor([0.995, 0.5, 0.98])
    assert act.freeze(0.01) == 1
    assert act.alpha.tolist() == pytest.approx([1.0, 0.5, 0.98]) and act.alpha[0].item() == 1.0
    assert act.frozen.tolist() == [True, False, False]
    assert act.penalty().item() == pytest.approx(0.5**0.5 + 0.02**0.5)
    loss = act(-torch.ones(1, 3, 1, 1)).sum() + act.penalty()
    loss.backward()
    assert act.alpha.grad[0] == 0 and act.alpha.grad[1] != 0
    assert torch.isfinite(act.alpha.grad).all()  # the infinite gradient at 1 never appears


def test_model_penalty_and_freeze_count():
    model = to_prelu(build_model("resnet56"), torch.randn(2, 3, 32, 32), "layer")
    n = len(prelus(model))
    assert l05_penalty(model).item() == pytest.approx(n)  # all slopes at 0: |1 - 0|^0.5 each
    for m in prelus(model)[:5]:
        m.alpha.data.fill_(0.999)
    assert freeze_linear_units(model) == 5
    assert l05_penalty(model).item() == pytest.approx(n - 5)


def test_slopes_get_no_weight_decay():
    model = to_prelu(build_model("resnet56"), torch.randn(2, 3, 32, 32))
    groups = parameter_groups(model, 5e-4)
    no_decay = {id(p) for p in groups[1]["params"]}
    assert groups[1]["weight_decay"] == 0
    assert no_decay == {id(m.alpha) for m in prelus(model)}


def test_bad_granularity():
    with pytest.raises(ConfigError, match="granularity"):
        to_prelu(build_model("resnet56"), torch.randn(1, 3, 32, 32), "neuron")


def test_a_slope_that_jumps_across_one_is_frozen():
    act = LinearizablePReLU(2)
    act.alpha.data = torch.tensor([0.5, 0.6])
    act.freeze(0.01)
    act.alpha.data = torch.tensor([1.3, 0.9])  # the first jumped over the window around 1
    assert act.freeze(0.01) == 1
    assert act.alpha.tolist() == pytest.approx([1.0, 0.9]) and act.frozen.tolist() == [True, False]
    assert act.nonlinear_fraction() == 0.5


def test_frozen_slopes_stay_at_one_under_momentum():
    act = LinearizablePReLU(2)
    opt = torch.optim.SGD(act.parameters(), lr=0.1, momentum=0.9)
    x = torch.ones(4, 2, 3, 3)  # positive inputs: the penalty alone drives the slopes
    for step in range(60):
        opt.zero_grad()
        (act(x).sum() + 0.05 * act.penalty()).backward()
        opt.step()
        act.freeze(0.01)
        if step == 0:
            assert not act.frozen.any()
    assert act.frozen.all() and torch.equal(act.alpha.data, torch.ones(2))
    assert act.penalty().item() == 0.0


# ----------------------------------------------------------------------------- post-training


def tiny_start(**changes):
    base = dict(experiment="lin_test", model="repvgg_a0", model_args=dict(width_scale=0.25), dataset="sample",
                steps=4, batch_size=32, lr=0.05, train_images=256, eval_every=2)
    return RunConfig(**{**base, **changes})


def post_train(start, granularity, omega, store, **kwargs):
    return run_or_load(post_train_config(start, granularity, omega, **kwargs), store, progress=False)


def test_post_training_runs_through_the_store_and_linearizes(isolated_store):
    start, store = tiny_start(), Store()
    run_or_load(start, store, save_weights=True, progress=False)
    kwargs = dict(epochs=1, lr=0.01, train_images=128, batch_size=32, eval_every=2)
    untouched = post_train(start, "channel", 0.0, store, **kwargs)
    crushed = post_train(start, "layer", 1e4, store, alpha_lr=1.0, **kwargs)  # one Adam step reaches 1
    assert untouched["linearization"]["napl"] == 22.0  # omega = 0: every unit stays nonlinear
    assert crushed["linearization"]["napl"] == 0.0  # a huge penalty makes the net linear
    assert set(crushed["linearization"]["nonlinear_fractions"].values()) == {0.0}
    assert [h["napl"] for h in crushed["history"]][-1] == 0.0
    assert untouched["linearization"]["slopes"] > crushed["linearization"]["slopes"] == 22
    cfg = post_train_config(start, "layer", 1e4, alpha_lr=1.0, **kwargs)
    assert store.load(cfg)["key"] == cfg.key and cfg.start_from == f"lin_test/{start.key}"


def test_post_training_the_same_start_twice_gives_the_same_result(tmp_path):
    start, first, second = tiny_start(), Store(tmp_path / "a"), Store(tmp_path / "b")
    run_or_load(start, first, save_weights=True, progress=False)
    run_or_load(start, second, save_weights=True, progress=False)
    kwargs = dict(epochs=1, lr=0.01, train_images=64, batch_size=32, seed=3)
    a = post_train(start, "channel", 0.5, first, **kwargs)
    b = post_train(start, "channel", 0.5, second, **kwargs)  # another store, trained again
    assert a["final"]["test_acc"] == b["final"]["test_acc"]
    assert a["linearization"] == b["linearization"]


def test_post_training_without_start_weights_names_the_fix(isolated_store):
    with pytest.raises(StoreError, match="save_weights=True"):
        post_train(tiny_start(), "channel", 0.1, Store(), epochs=1, lr=0.01)


def test_a_sweep_trains_the_start_network_first_with_its_weights(isolated_store):
    from resdepth.results import sweep

    start, store = tiny_start(), Store()
    post = post_train_config(start, "layer", 1.0, epochs=1, lr=0.01, train_images=64, batch_size=32)
    records = sweep([post, start], store, progress=False)  # the start comes second in the grid
    assert [r["key"] for r in records] == [post.key, start.key]
    assert store.weights_path(start).is_file() and not store.weights_path(post).exists()


def test_linearization_config_errors():
    with pytest.raises(ConfigError, match="start_from"):
        RunConfig(model="repvgg_a0", epochs=1, linearize="channel")
    with pytest.raises(ConfigError, match="linearize must be"):
        RunConfig(model="repvgg_a0", epochs=1, linearize="neuron", start_from="a/b")
    with pytest.raises(ConfigError, match="omega"):
        RunConfig(model="repvgg_a0", epochs=1, linearize="layer", start_from="a/b", omega=-1)
    tower = dict(model_args=dict(depth=2), epochs=1)
    assert RunConfig(**tower).key == RunConfig(**tower, omega=0.0, linearize="").key  # old hashes unchanged


def test_post_training_optimizer_gives_slopes_their_own_rate_and_no_decay():
    cfg = post_train_config(tiny_start(), "layer", 1.0, epochs=1, lr=1e-4, alpha_lr=0.01, weight_decay=5e-4)
    model = to_prelu(build_model("repvgg_a0", 1, 10, width_scale=0.125).reparameterize(), torch.randn(2, 1, 32, 32),
                     "layer")
    opt = make_optimizer(model, cfg, torch.device("cpu"))
    assert isinstance(opt, torch.optim.AdamW)
    weights, slopes = opt.param_groups
    assert (weights["lr"], weights["weight_decay"]) == (1e-4, 5e-4)
    assert (slopes["lr"], slopes["weight_decay"]) == (0.01, 0.0)
    assert {id(p) for p in slopes["params"]} == {id(m.alpha) for m in prelus(model)}


@pytest.mark.parametrize("slopes", [1, 6])
def test_prelu_forward_equals_the_masked_definition_in_values_and_gradients(slopes):
    torch.manual_seed(0)
    prelu = LinearizablePReLU(slopes)
    prelu.alpha.data.uniform_(-0.5, 1.5)
    x = torch.randn(4, 6, 5, 5, requires_grad=True)
    upstream = torch.randn(4, 6, 5, 5)
    prelu(x).backward(upstream)
    got = (prelu(x).detach(), x.grad.clone(), prelu.alpha.grad.clone())
    x.grad, prelu.alpha.grad = None, None
    alpha = prelu.alpha.view(1, -1, 1, 1) if slopes > 1 else prelu.alpha
    expected_out = torch.where(x >= 0, x, alpha * x)  # phi_alpha of the paper, Section 3
    expected_out.backward(upstream)
    assert torch.equal(got[0], expected_out.detach())
    assert torch.allclose(got[1], x.grad) and torch.allclose(got[2], prelu.alpha.grad, atol=1e-6)
