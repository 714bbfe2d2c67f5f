import copy
import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resdepth import train as train_module
from resdepth.config import RunConfig
from resdepth.errors import ConfigError, StoreError
from resdepth.linearize import (LinearizablePReLU, Slopes, draw_random_mask, fine_tune_config, fix_learned_mask,
                                freeze_linear_units, l05_penalty, layerwise_l05_penalty, linearized_architecture,
                                nonlinear_fractions, post_train_config, prelus, share_slopes, slope_count, slopes_of,
                                to_prelu)
from resdepth.models import build_model
from resdepth.posttraining import PostTraining
from resdepth.results import run_or_load
from resdepth.store import Store
from resdepth.train import Extension, make_optimizer, parameter_groups, train


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


def test_all_slopes_of_a_net_are_one_flat_tensor_that_each_prelu_slices():
    model = to_prelu(build_model("resnet56"), torch.randn(2, 3, 32, 32))
    slopes, acts = slopes_of(model), prelus(model)
    assert isinstance(slopes, Slopes) and slopes.alpha.numel() == slope_count(model) == sum(a.count for a in acts)
    assert [n for n, _ in model.named_parameters() if "alpha" in n] == ["linearization_slopes.alpha"]
    assert {k for k in model.state_dict() if "slopes" in k} == {f"linearization_slopes.{k}" for k in
                                                                ("alpha", "frozen", "side")}
    assert [a.offset for a in acts] == [sum(a.count for a in acts[:i]) for i in range(len(acts))]
    acts[1].alpha.data.fill_(1.0)  # how callers set slopes (merge, pathlength): it writes through
    acts[2].frozen[:] = True
    assert torch.equal(slopes.alpha[acts[1].offset: acts[2].offset], torch.ones(acts[1].count))
    assert slopes.frozen.sum() == acts[2].count
    # slopes exactly 1 are linear whether frozen or not (``linear_units``, read by NAPL and merge alike)
    assert list(nonlinear_fractions(model).values())[:3] == [1.0, 0.0, 0.0]


def test_share_slopes_packs_stand_alone_prelus_with_their_state():
    first, second = LinearizablePReLU(2), LinearizablePReLU(3)
    first.alpha.data.copy_(torch.tensor([0.5, 1.0]))
    first.frozen[1] = True
    second.side.fill_(1.0)
    net = share_slopes(nn.Sequential(first, nn.Identity(), second))
    assert [n for n, _ in net.named_parameters()] == ["linearization_slopes.alpha"]
    assert slopes_of(net).counts == (2, 3) and (first.offset, second.offset) == (0, 2)
    assert slopes_of(net).alpha.tolist() == [0.5, 1.0, 0.0, 0.0, 0.0]
    assert slopes_of(net).frozen.tolist() == [False, True, False, False, False]
    assert slopes_of(net).side.tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="share_slopes"):
        l05_penalty(nn.Sequential(LinearizablePReLU(2)))


def test_channel_slopes_act_per_channel():
    act = LinearizablePReLU(2)
    act.alpha.data.copy_(torch.tensor([0.5, 1.0]))
    x = -torch.ones(1, 2, 2, 2)
    out = act(x)
    assert torch.all(out[:, 0] == -0.5) and torch.all(out[:, 1] == -1.0)


def test_freeze_rule_fixes_slopes_at_one_and_drops_them_from_penalty_and_gradient():
    act = LinearizablePReLU(3)
    act.alpha.data.copy_(torch.tensor([0.995, 0.5, 0.98]))
    assert freeze_linear_units(act, 0.01) == 1
    assert act.alpha.tolist() == pytest.approx([1.0, 0.5, 0.98]) and act.alpha[0].item() == 1.0
    assert act.frozen.tolist() == [True, False, False]
    assert l05_penalty(act).item() == pytest.approx(0.5**0.5 + 0.02**0.5)
    loss = act(-torch.ones(1, 3, 1, 1)).sum() + l05_penalty(act)
    loss.backward()
    grad = slopes_of(act).alpha.grad
    assert grad[0] == 0 and grad[1] != 0
    assert torch.isfinite(grad).all()  # the infinite gradient at 1 never appears


def test_model_penalty_and_freeze_count():
    model = to_prelu(build_model("resnet56"), torch.randn(2, 3, 32, 32), "layer")
    n = len(prelus(model))
    assert l05_penalty(model).item() == pytest.approx(n)  # all slopes at 0: |1 - 0|^0.5 each
    assert layerwise_l05_penalty(model).item() == pytest.approx(n)
    for m in prelus(model)[:5]:
        m.alpha.data.fill_(0.999)
    assert freeze_linear_units(model) == 5
    assert l05_penalty(model).item() == pytest.approx(n - 5)


def test_slopes_get_no_weight_decay():
    model = to_prelu(build_model("resnet56"), torch.randn(2, 3, 32, 32))
    groups = parameter_groups(model, 5e-4)
    assert groups[1]["weight_decay"] == 0
    assert [id(p) for p in groups[1]["params"]] == [id(slopes_of(model).alpha)]


def test_bad_granularity():
    with pytest.raises(ConfigError, match="granularity"):
        to_prelu(build_model("resnet56"), torch.randn(1, 3, 32, 32), "neuron")


def test_the_first_freeze_applies_the_papers_window_alone():
    """Issue 13: the first freeze froze every slope above 1 (its side started at -1, so above 1
    counted as crossed). The paper freezes only |alpha - 1| < 0.01."""
    act = LinearizablePReLU(3)
    act.alpha.data.copy_(torch.tensor([1.3, 2.0, 1.005]))
    assert freeze_linear_units(act, 0.01) == 1
    assert act.alpha.tolist() == pytest.approx([1.3, 2.0, 1.0]) and act.frozen.tolist() == [False, False, True]
    act.alpha.data.copy_(torch.tensor([0.8, 1.5, 1.0]))  # the first now crossed 1 since the last freeze
    assert freeze_linear_units(act, 0.01) == 2
    assert act.frozen.tolist() == [True, False, True] and act.alpha.tolist() == pytest.approx([1.0, 1.5, 1.0])


def test_a_slope_at_exactly_one_is_linear_in_napl_and_in_the_merge():
    """Issue 13: NAPL read p from the frozen flags while the merge read alpha == 1, so an unfrozen
    PReLU at alpha = 1 was nonlinear to one and linear to the other. Both read ``linear_units``."""
    from resdepth.merge import is_linear
    from resdepth.pathlength import napl
    class Chain(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(1, 2, 3), LinearizablePReLU(2), nn.Conv2d(2, 2, 3), LinearizablePReLU(2))

        def forward(self, x):
            return self.body(x)

    net = share_slopes(Chain())
    first, second = net.body[1], net.body[3]
    first.alpha.data.fill_(1.0)  # not frozen, but the identity
    second.alpha.data.copy_(torch.tensor([1.0, 0.5]))
    assert not first.frozen.any() and is_linear(first) and not is_linear(second)
    assert nonlinear_fractions(net) == {"body.1": 0.0, "body.3": 0.5}
    assert napl(net) == pytest.approx(0.5)


def test_a_slope_that_jumps_across_one_is_frozen():
    act = LinearizablePReLU(2)
    act.alpha.data.copy_(torch.tensor([0.5, 0.6]))
    freeze_linear_units(act, 0.01)
    act.alpha.data.copy_(torch.tensor([1.3, 0.9]))  # the first jumped over the window around 1
    assert freeze_linear_units(act, 0.01) == 1
    assert act.alpha.tolist() == pytest.approx([1.0, 0.9]) and act.frozen.tolist() == [True, False]
    assert act.nonlinear_fraction() == 0.5


def test_frozen_slopes_stay_at_one_under_momentum():
    act = LinearizablePReLU(2)
    opt = torch.optim.SGD(act.parameters(), lr=0.1, momentum=0.9)
    x = torch.ones(4, 2, 3, 3)  # positive inputs: the penalty alone drives the slopes
    for step in range(60):
        opt.zero_grad()
        (act(x).sum() + 0.05 * l05_penalty(act)).backward()
        opt.step()
        freeze_linear_units(act, 0.01)
        if step == 0:
            assert not act.frozen.any()
    assert act.frozen.all() and torch.equal(act.alpha.data, torch.ones(2))
    assert l05_penalty(act).item() == 0.0


# ------------------------------------------------- the flat slopes against the per-module algorithm


class ReferencePReLU(nn.Module):
    """The per-module PReLU that the flat ``Slopes`` replaced (resdepth.linearize at 0af2960),
    verbatim but for the sign's start: 0 (unknown) instead of -1, the first-freeze fix of issue 13."""

    def __init__(self, num_slopes: int):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(num_slopes))
        self.alpha.no_weight_decay = True
        self.register_buffer("frozen", torch.zeros(num_slopes, dtype=torch.bool))
        self.register_buffer("side", torch.zeros(num_slopes))  # 0 (unknown) before the first freeze (issue 13)
        self.alpha.register_hook(lambda grad: grad.masked_fill(self.frozen, 0.0))

    def forward(self, x):
        return F.prelu(x, self.alpha.to(x.dtype))

    def penalty(self):
        gap = torch.where(self.frozen, torch.ones_like(self.alpha), (1 - self.alpha).abs())
        return torch.where(self.frozen, torch.zeros_like(gap), gap.sqrt()).sum()

    @torch.no_grad()
    def freeze(self, threshold):
        offset = self.alpha - 1
        crossed = torch.sign(offset) * self.side < 0
        self.frozen |= (offset.abs() < threshold) | crossed
        self.side.copy_(torch.sign(offset))
        self.alpha.masked_fill_(self.frozen, 1.0)
        return self.frozen.sum()


def reference_twin(fused: nn.Module, linearized: nn.Module) -> nn.Module:
    """A copy of ``fused`` (before ``to_prelu``) with a ``ReferencePReLU`` wherever ``linearized``
    has a ``LinearizablePReLU``, holding the same slopes, masks and signs."""
    twin = copy.deepcopy(fused)
    for name, act in linearized.named_modules():
        if isinstance(act, LinearizablePReLU):
            parent_name, _, child = name.rpartition(".")
            ref = ReferencePReLU(act.count).to(act.alpha.dtype)
            with torch.no_grad():
                ref.alpha.copy_(act.alpha), ref.frozen.copy_(act.frozen), ref.side.copy_(act.side)
            setattr(twin.get_submodule(parent_name) if parent_name else twin, child, ref)
    return twin


def post_train_steps(model, x, y, steps, penalty, layer_penalty, freeze):
    """AdamW post-training as ``resdepth.train`` runs it: cross-entropy + omega * L0.5, the freeze
    after every step. Returns per step: CE loss, hot penalty, logged penalty, gradient of the slopes
    (before the step), slopes after the step, and slopes, masks, signs and frozen count after the freeze."""
    omega, threshold = 0.05, 0.01
    optimizer = torch.optim.AdamW(parameter_groups(model, 5e-4, 0.08), lr=1e-3, foreach=True)
    trace = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        hot = penalty(model)
        optimizer.zero_grad(set_to_none=True)
        (loss + omega * hot).backward()
        grad = slope_tensors(model, "grad")
        optimizer.step()
        stepped = slope_tensors(model, "alpha")
        count = freeze(model, threshold)
        trace.append(dict(loss=loss.detach(), hot=hot.detach(), logged=layer_penalty(model), grad=grad, stepped=stepped,
                          alpha=slope_tensors(model, "alpha"), frozen=slope_tensors(model, "frozen"),
                          side=slope_tensors(model, "side"), count=count))
    return trace


def slope_tensors(model, what):
    """The model's slopes (or their gradients, masks, signs), concatenated in module order."""
    acts = [m for m in model.modules() if isinstance(m, ReferencePReLU)]
    if not acts:
        flat = slopes_of(model)
        return (flat.alpha.grad if what == "grad" else getattr(flat, what)).detach().clone()
    return torch.cat([(a.alpha.grad if what == "grad" else getattr(a, what)).detach() for a in acts])


def reference_penalty(model):
    return torch.stack([m.penalty() for m in model.modules() if isinstance(m, ReferencePReLU)]).sum()


def reference_freeze(model, threshold):
    return sum(m.freeze(threshold) for m in model.modules() if isinstance(m, ReferencePReLU))


@pytest.mark.parametrize("granularity, dtype", [("channel", torch.float32), ("layer", torch.float32),
                                                 ("channel", torch.float64)])
def test_flat_slopes_post_train_bit_identically_to_the_per_module_algorithm(granularity, dtype):
    torch.manual_seed(0)
    fused = build_model("repvgg_a0", 1, 10, width_scale=0.25).eval().reparameterize().to(dtype)
    x, y = torch.randn(8, 1, 32, 32, dtype=dtype), torch.randint(0, 10, (8,))
    new = to_prelu(copy.deepcopy(fused), x[:2], granularity).to(dtype)
    flat = slopes_of(new)
    with torch.no_grad():  # slopes spread over [0, 1.2]: some start above 1, many cross 1 within a few steps
        flat.alpha.copy_(torch.rand(flat.alpha.shape, dtype=flat.alpha.dtype) * 1.2)
    ref = reference_twin(fused, new)
    started_above = flat.alpha.detach() > 1

    got = post_train_steps(new, x, y, 8, l05_penalty, layerwise_l05_penalty, freeze_linear_units)
    want = post_train_steps(ref, x, y, 8, reference_penalty, reference_penalty, reference_freeze)

    for step, (g, w) in enumerate(zip(got, want)):
        for key in ("loss", "logged", "grad", "stepped", "alpha", "frozen", "side", "count"):
            assert torch.equal(g[key], w[key]), f"step {step}: {key}"
        # the objective's penalty sums the flat tensor at once: its value may differ in the last bits,
        # its gradient (above) does not
        assert torch.allclose(g["hot"], w["hot"], rtol=1e-6, atol=0)
    weights = {n: p for n, p in ref.named_parameters() if not n.endswith("alpha")}
    assert weights.keys() == {n for n, _ in new.named_parameters()} - {"linearization_slopes.alpha"}
    assert all(torch.equal(p, weights[n]) for n, p in new.named_parameters() if n in weights)
    # the run went through every branch of the freeze rule
    above = got[0]["stepped"] > 1  # side starts unknown: above 1 at the first freeze is frozen only in the window
    near = (got[0]["stepped"] - 1).abs() < 0.01
    assert started_above.any() and above.any() and torch.equal(got[0]["frozen"][above], near[above])
    assert not got[0]["frozen"].all() and got[-1]["count"] > got[0]["count"]
    later = [(a["frozen"] & ~b["frozen"], (a["stepped"] - 1).abs() < 0.01) for b, a in zip(got, got[1:])]
    assert sum((new_ & near).sum() for new_, near in later) > 0  # into the window around 1
    assert sum((new_ & ~near).sum() for new_, near in later) > 0  # across it


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
    assert [id(p) for p in slopes["params"]] == [id(slopes_of(model).alpha)]


@pytest.mark.parametrize("slopes", [1, 6])
def test_prelu_forward_equals_the_masked_definition_in_values_and_gradients(slopes):
    torch.manual_seed(0)
    prelu = LinearizablePReLU(slopes)
    flat = slopes_of(prelu).alpha
    flat.data.uniform_(-0.5, 1.5)
    x = torch.randn(4, 6, 5, 5, requires_grad=True)
    upstream = torch.randn(4, 6, 5, 5)
    prelu(x).backward(upstream)
    got = (prelu(x).detach(), x.grad.clone(), flat.grad.clone())
    x.grad, flat.grad = None, None
    alpha = prelu.alpha.view(1, -1, 1, 1) if slopes > 1 else prelu.alpha
    expected_out = torch.where(x >= 0, x, alpha * x)  # phi_alpha of the paper, Section 3
    expected_out.backward(upstream)
    assert torch.equal(got[0], expected_out.detach())
    assert torch.allclose(got[1], x.grad) and torch.allclose(got[2], flat.grad, atol=1e-6)


class DtypeProbe(Extension):
    """Records the dtype of every PReLU output in training."""

    def __init__(self, seen):
        self.seen = seen

    def prepare(self, model, data):
        for act in prelus(model):
            act.register_forward_hook(lambda m, inputs, out: self.seen.append(out.dtype) if m.training else None)
        return model


def test_post_training_runs_in_bf16_autocast_on_the_cpu(sample, monkeypatch):
    # train refuses bf16 on a CPU without bf16 kernels, where it is slow; a width-8 tower is quick anyway
    monkeypatch.setattr(train_module, "cpu_has_bf16_kernels", lambda: True, raising=False)
    start = tiny_start(model="tower", model_args=dict(depth=2, width=8))
    start_state = build_model("tower", sample.in_channels, sample.num_classes, **start.model_kwargs).state_dict()
    cfg = post_train_config(start, "channel", 0.5, epochs=1, lr=0.01, train_images=64, batch_size=32, alpha_lr=0.05)
    seen = []
    record, model = train(dataclasses.replace(cfg, precision="bf16"), progress=False,
                          extensions=[PostTraining(cfg, start_state), DtypeProbe(seen)])
    assert record["status"] == "ok" and record["precision"] == "bf16-autocast"
    assert math.isfinite(record["final"]["test_loss"]) and math.isfinite(record["final"]["l05_penalty"])
    assert seen and set(seen) == {torch.bfloat16}  # the PReLUs ran in bf16 ...
    slopes = slopes_of(model)
    assert slopes.alpha.dtype == torch.float32 and (slopes.alpha != 0).any()  # ... and trained fp32 slopes
    assert record["linearization"]["slopes"] == slopes.alpha.numel()



# ----------------------------------------------------------------------------- phase 2: a fixed mask, no penalty


def chain_of_prelus(*slopes):
    """A net of stand-alone PReLUs, one per entry of ``slopes`` (its initial slopes), sharing one Slopes."""
    net = share_slopes(nn.Sequential(*[LinearizablePReLU(len(s)) for s in slopes]))
    slopes_of(net).alpha.data.copy_(torch.tensor([a for s in slopes for a in s]))
    return net


def test_the_learned_mask_makes_the_window_exactly_linear_for_good():
    net = chain_of_prelus([0.995, 0.5, 1.2], [1.0, 0.3])
    slopes_of(net).frozen[4] = True
    mask = fix_learned_mask(net, 0.01)
    assert mask.tolist() == [True, False, False, True, True]  # 1.0 unfrozen counts too (|1 - 1| < 0.01)
    assert slopes_of(net).alpha.tolist() == pytest.approx([1.0, 0.5, 1.2, 1.0, 1.0])
    assert slopes_of(net).frozen.tolist() == [True, False, False, True, True]


def test_the_random_mask_keeps_each_layers_linear_count_and_restarts_the_units_it_frees_as_relus():
    learned = [[0.999, 0.2, 0.3, 1.0, 0.4, 0.5], [0.6, 1.0, 0.7, 0.8]]
    draws = []
    for seed in range(6):
        net = chain_of_prelus(*learned)
        mask = draw_random_mask(net, seed, 0.01)
        alpha = slopes_of(net).alpha
        assert mask[:6].sum() == 2 and mask[6:].sum() == 1  # the learned mask's count per layer
        assert torch.equal(slopes_of(net).frozen, mask) and (alpha[mask] == 1).all()
        was_linear = torch.tensor([True, False, False, True, False, False, False, True, False, False])
        assert (alpha[was_linear & ~mask] == 0).all()  # freed: a ReLU again, as in the start network
        kept = ~was_linear & ~mask
        assert torch.equal(alpha[kept], torch.tensor([a for s in learned for a in s])[kept])
        assert list(nonlinear_fractions(net).values()) == pytest.approx([4 / 6, 3 / 4])
        draws.append(tuple(mask.tolist()))
    assert len(set(draws)) > 1  # the seed changes the draw ...
    again = chain_of_prelus(*learned)
    assert tuple(draw_random_mask(again, 0, 0.01).tolist()) == draws[0]  # ... and fixes it


def test_mask_config_errors_name_the_fix():
    with pytest.raises(ConfigError, match="mask must be"):
        RunConfig(model="repvgg_a0", epochs=1, linearize="layer", start_from="a/b", mask="best")
    with pytest.raises(ConfigError, match="set linearize"):
        RunConfig(model="repvgg_a0", epochs=1, mask="learned")
    with pytest.raises(ConfigError, match="set omega to 0"):
        RunConfig(model="repvgg_a0", epochs=1, linearize="layer", start_from="a/b", omega=1.0, mask="random")
    tower = dict(model_args=dict(depth=2), epochs=1)
    assert RunConfig(**tower).key == RunConfig(**tower, mask="").key  # old hashes unchanged


def test_phase_two_fine_tunes_the_penalty_runs_mask_without_the_penalty(isolated_store):
    from resdepth.results import sweep

    start, store = tiny_start(), Store()
    penalty = post_train_config(start, "channel", 0.1, epochs=1, lr=0.001, train_images=128, batch_size=32,
                                alpha_lr=0.5, eval_every=2)  # 4 steps that leave about half the units linear; at lr 0.01 phase 2 of this garbage start explodes
    learned, shuffled = fine_tune_config(penalty, "learned", 1), fine_tune_config(penalty, "random", 1)
    assert learned.start_from == f"{penalty.experiment}/{penalty.key}" and learned.omega == 0.0
    records = sweep([learned, shuffled, penalty, start], store, progress=False)  # starts trained first
    first, fixed, control = (store.load(c) for c in (penalty, learned, shuffled))
    assert store.weights_path(penalty).is_file()  # a start of phase 2: its weights were kept
    assert all(r["status"] == "ok" for r in records)
    alpha_before, alpha_after = (torch.tensor(r["linearization"]["alpha"]) for r in (first, fixed))
    linear = (alpha_before - 1).abs() < 0.01
    assert 0 < linear.sum() < len(linear)  # the penalty run left some units linear, not all
    assert (alpha_after[linear] == 1).all()  # they stayed exactly linear through phase 2
    assert not torch.equal(alpha_after[~linear], alpha_before[~linear])  # the others were fine-tuned
    # NAPL is the mask's: unchanged by phase 2, and the same for the random mask of equal fractions
    assert fixed["linearization"]["napl"] == pytest.approx(napl_of_fractions(first, linear))
    assert control["linearization"]["nonlinear_fractions"] == pytest.approx(fixed["linearization"]["nonlinear_fractions"])
    assert control["linearization"]["alpha"] != fixed["linearization"]["alpha"]


def napl_of_fractions(record, linear):
    """The NAPL of the net of ``record``'s shape with the flat linear mask ``linear``."""
    from resdepth.pathlength import napl

    net = linearized_architecture(record)
    slopes_of(net).frozen.copy_(linear)
    return napl(net)
