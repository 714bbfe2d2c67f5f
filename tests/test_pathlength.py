import math

import numpy as np
import pytest
import torch
from torch import nn

from resdepth.linearize import LinearizablePReLU, to_prelu
from resdepth.models import build_model
from resdepth.models.cifar_resnet import OptionAShortcut
from resdepth.pathlength import binomial_like, napl, path_length_distribution, total_variation


def prelu_with_fraction(channels: int, nonlinear: int) -> LinearizablePReLU:
    act = LinearizablePReLU(channels)
    act.frozen[nonlinear:] = True
    act.alpha.data[nonlinear:] = 1.0
    return act


class PlainChain(nn.Module):
    def __init__(self, nonlinear_counts, channels=4):
        super().__init__()
        self.layers = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), prelu_with_fraction(channels, k))
            for k in nonlinear_counts
        ])

    def forward(self, x):
        return self.layers(x).mean(dim=(2, 3))


class TwoBranch(nn.Module):
    """relu(x + conv(relu(conv(x)))): paths meet 1 (skip) or 2 (branch) ReLUs."""

    def __init__(self):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(2, 2, 1), nn.ReLU(), nn.Conv2d(2, 2, 1))
        self.out = nn.ReLU()

    def forward(self, x):
        return self.out(x + self.branch(x))


def test_plain_chain_napl_is_the_sum_of_nonlinear_fractions():
    counts = [4, 1, 0, 3, 2]
    model = PlainChain(counts)
    p = np.array(counts) / 4
    assert napl(model) == pytest.approx(p.sum())
    dist = path_length_distribution(model)
    poisson_binomial = np.array([1.0])
    for pl in p:
        poisson_binomial = np.convolve(poisson_binomial, [1 - pl, pl])
    np.testing.assert_allclose(dist, poisson_binomial, atol=1e-12)


def test_two_branch_residual_add_splits_evenly():
    dist = path_length_distribution(TwoBranch())
    np.testing.assert_allclose(dist, [0.0, 0.5, 0.5])
    assert napl(TwoBranch()) == pytest.approx(1.5)


@pytest.mark.parametrize("name, args, expected", [
    ("plain56", {}, 55.0),                           # 55 ReLUs on one chain
    ("resnet56", {}, 42.0),                          # stem + 27 blocks; see test_option_a_resnet_napl_by_stage
    ("tower", dict(depth=6, width=4), 1 + 6 * 0.5),  # stem + each branch's ReLU with probability 1/2
])
def test_napl_of_known_architectures(name, args, expected):
    assert napl(build_model(name, 1, 10, **args)) == pytest.approx(expected)


class OptionAAdd(nn.Module):
    """relu(branch(x) + OptionAShortcut(x)): the skip fills c_in of c_out channels, the rest are zeros."""

    def __init__(self, c_in=2, c_out=8):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=2), nn.ReLU(), nn.Conv2d(c_out, c_out, 1))
        self.shortcut = OptionAShortcut(c_in, c_out)
        self.out = nn.ReLU()

    def forward(self, x):
        return self.out(self.branch(x) + self.shortcut(x))


def test_option_a_add_sends_the_walk_to_the_skip_only_on_the_channels_it_fills():
    # a uniform channel of the sum: with probability c = 2/8 the skip fills it (split 1/2-1/2),
    # otherwise only the branch carries a path there: skip c/2 = 1/8, branch 1 - c/2 = 7/8
    np.testing.assert_allclose(path_length_distribution(OptionAAdd()), [0.0, 1 / 8, 7 / 8])


def test_zero_padded_channels_fed_to_a_convolution_are_mixed_back_into_every_channel():
    class PadThenConv(nn.Module):  # conv(pad(x)) + x: every channel of the conv output carries a path
        def __init__(self):
            super().__init__()
            self.shortcut = OptionAShortcut(2, 8)
            self.conv = nn.Conv2d(8, 2, 1)

        def forward(self, x):
            return torch.relu(self.conv(self.shortcut(x)) + x[:, :, ::2, ::2])

    np.testing.assert_allclose(path_length_distribution(PadThenConv()), [0.0, 1.0])


def option_a_stage_increments(model) -> list:
    """NAPL added by each stage of a CIFAR ResNet, by hand: a block adds 1 (its last ReLU) plus the
    branch's share times 1 (the ReLU inside the branch); the branch's share is 1/2 at an identity
    skip and 1 - c/2 at an option-A skip that fills a fraction c = c_in / c_out of the channels."""
    increments = []
    for stage in range(3):
        blocks = [b for b in model.stages if b.conv2.out_channels == 16 * 2**stage]
        c = blocks[0].conv1.in_channels / blocks[0].conv1.out_channels
        increments.append((1 + (1 - c / 2)) + (len(blocks) - 1) * (1 + 1 / 2))
    return increments


@pytest.mark.parametrize("name, expected", [("resnet56", 42.0), ("resnet20", 15.0)])
def test_option_a_resnet_napl_by_stage(name, expected):
    model = build_model(name, 1, 10)
    by_hand = 1 + sum(option_a_stage_increments(model))  # the stem's ReLU, then the stages
    assert by_hand == expected  # resnet56: 1 + 13.5 + 13.75 + 13.75
    assert napl(model) == pytest.approx(expected)
    dist = path_length_distribution(model)
    assert dist.sum() == pytest.approx(1.0) and dist[: 1 + len(model.stages)].sum() == 0.0  # >= stem + 1 per block


def test_identity_skip_resnet_is_unchanged_by_option_a_shortcuts_elsewhere():
    model = build_model("resnet20", 1, 10)
    model.stages = model.stages[:3]  # the first stage only: identity skips, 16 -> 16 channels
    assert napl(model) == pytest.approx(1 + 3 * 1.5)


def test_layerwise_linearization_gives_an_integer_napl_equal_to_depth_minus_one():
    model = build_model("repvgg_a0", 1, 10, width_scale=0.125).reparameterize()
    to_prelu(model, torch.randn(2, 1, 32, 32), "layer")
    acts = [m for m in model.modules() if isinstance(m, LinearizablePReLU)]
    for act in acts[::3]:
        act.frozen[:] = True
    remaining = len(acts) - len(acts[::3])
    assert napl(model) == remaining
    assert napl(model) == float(int(napl(model)))
    dist = path_length_distribution(model)
    assert dist[remaining] == pytest.approx(1.0)  # fixed depth: every path has the same length


def test_distribution_sums_to_one_and_has_mean_napl_on_channelwise_resnet():
    model = to_prelu(build_model("resnet20", 1, 10), torch.randn(2, 1, 32, 32), "channel")
    gen = torch.Generator().manual_seed(0)
    for act in model.modules():
        if isinstance(act, LinearizablePReLU):
            act.frozen[:] = torch.rand(act.frozen.shape, generator=gen) < 0.6
    dist = path_length_distribution(model)
    assert dist.sum() == pytest.approx(1.0)
    assert np.dot(np.arange(len(dist)), dist) == pytest.approx(napl(model))
    assert 0 < napl(model) < napl(build_model("resnet20", 1, 10))


def test_fractions_override_the_models_own_state():
    model = PlainChain([4, 4, 4])
    names = [n for n, m in model.named_modules() if isinstance(m, LinearizablePReLU)]
    assert napl(model, {names[0]: 0.25, names[1]: 0.0}) == pytest.approx(1.25)


def test_binomial_reference_has_the_same_mean_and_length():
    dist = path_length_distribution(build_model("resnet56", 1, 10))
    ref = binomial_like(dist)
    assert len(ref) == len(dist)
    assert ref.sum() == pytest.approx(1.0)
    assert np.dot(np.arange(len(ref)), ref) == pytest.approx(np.dot(np.arange(len(dist)), dist))
    assert total_variation(dist, dist) == 0.0 and 0 < total_variation(dist, ref) < 1
    assert math.isclose(total_variation([1.0], [0.0, 1.0]), 1.0)


def test_unknown_junction_is_refused():
    class Gate(nn.Module):
        def forward(self, x):
            return x * torch.relu(x)

    with pytest.raises(ValueError, match="only sums are junctions"):
        napl(Gate())


def test_functional_activations_count_as_nonlinear_units():
    class Functional(nn.Module):
        def forward(self, x):
            return torch.relu(x) + x

    np.testing.assert_allclose(path_length_distribution(Functional()), [0.5, 0.5])


def test_tower_order_mix_is_the_expansion_weighting():
    from resdepth.pathlength import tower_order_mix

    mix = tower_order_mix(4, 1.0)  # lam = 1: every path counts the same, Binomial(4, 1/2), after the stem unit
    np.testing.assert_allclose(mix, [0, 1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16])
    lam = 0.25
    mix = tower_order_mix(16, lam, stem_units=0)
    weights = np.array([math.comb(16, k) * lam**k for k in range(17)])
    np.testing.assert_allclose(mix, weights / weights.sum())
    # at lam = 1 the expansion weights and the even-split walk of NAPL agree
    tower = build_model("tower", 1, 10, depth=4, width=4, lam="1")
    np.testing.assert_allclose(path_length_distribution(tower), tower_order_mix(4, 1.0))


def test_linearized_architecture_rebuilds_the_graph_of_a_stored_run():
    from resdepth.linearize import linearized_architecture

    record = {"config": {"model": "repvgg_a0", "model_args": {"width_scale": 0.125}, "epochs": 1,
                         "start_from": "a/b", "linearize": "layer", "omega": 1.0},
              "linearization": {"in_channels": 1, "num_classes": 10, "image_size": 32}}
    model = linearized_architecture(record)
    names = [n for n, m in model.named_modules() if isinstance(m, LinearizablePReLU)]
    assert len(names) == 22
    assert napl(model, {n: 0.0 for n in names[:10]}) == 12.0


def test_split_weights_share_each_channel_among_the_summands_covering_it():
    from resdepth.pathlength import split_weights

    np.testing.assert_allclose(split_weights([1.0, 1.0, 1.0]), [1 / 3] * 3)
    np.testing.assert_allclose(split_weights([1.0, 0.5]), [0.75, 0.25])
    # nested bands (0, 1/4] by three summands, (1/4, 1/2] by two, (1/2, 1] by one
    np.testing.assert_allclose(split_weights([0.5, 0.25, 1.0]), [1 / 12 + 1 / 8, 1 / 12, 1 / 12 + 1 / 8 + 1 / 2])
    np.testing.assert_allclose(split_weights([0.5, 0.5]), [0.5, 0.5])  # only covered channels carry the walk


def exact_channel_walk(model, masks: dict) -> np.ndarray:
    """The walk of a CIFAR ResNet tracked per channel (rows: channels, columns: lengths), with each
    activation's nonlinear units fixed by ``masks`` (1 = nonlinear) instead of drawn afresh: a
    convolution mixes every channel (the mean row), an identity or option-A skip keeps its channel."""
    def step(rows, mask):
        out = np.zeros((rows.shape[0], rows.shape[1] + 1))
        out[:, :-1] += (1 - mask)[:, None] * rows
        out[:, 1:] += mask[:, None] * rows
        return out

    rows = step(np.ones((16, 1)), masks["stem.2"])
    for i, block in enumerate(model.stages):
        c_in, c_out = block.conv1.in_channels, block.conv1.out_channels
        branch = step(np.tile(rows.mean(0), (c_out, 1)), masks[f"stages.{i}.relu1"])
        branch = np.tile(branch.mean(0), (c_out, 1))
        skip = np.pad(rows, ((0, 0), (0, branch.shape[1] - rows.shape[1])))
        pad = (c_out - c_in) // 2
        branch[pad: pad + c_in] = 0.5 * (branch[pad: pad + c_in] + skip)
        rows = step(branch, masks[f"stages.{i}.relu2"])
    return rows.mean(0)


def test_independent_layers_match_the_exact_channel_walk_in_mean_and_nearly_in_distribution():
    model = build_model("resnet20", 1, 10)
    names = [n for n, m in model.named_modules() if isinstance(m, nn.ReLU)]
    width = {n: m.num_features for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    channels = {n: width[n.replace("relu", "bn").replace("stem.2", "stem.1")] for n in names}
    full = exact_channel_walk(model, {n: np.ones(c) for n, c in channels.items()})
    np.testing.assert_allclose(path_length_distribution(model), full, atol=1e-12)
    rng = np.random.default_rng(0)
    masks = {n: (rng.random(c) < 0.5).astype(float) for n, c in channels.items()}
    dist = path_length_distribution(model, {n: m.mean() for n, m in masks.items()})
    exact = exact_channel_walk(model, masks)
    assert np.dot(np.arange(len(dist)), dist) == pytest.approx(np.dot(np.arange(len(exact)), exact))
    assert total_variation(dist, exact) < 0.02
