import numpy as np
import pytest
import torch

from resdepth import expansion
from resdepth.models import ResidualTower


def small_tower(activation="gelu", depth=5, width=6):
    torch.manual_seed(0)
    return ResidualTower(depth=depth, width=width, lam=0.1, activation=activation, in_channels=1).double().eval()


def test_m2_with_n_jvps_equals_the_double_sum():
    tower = small_tower(depth=6)
    x = torch.randn(3, 1, 32, 32, dtype=torch.float64)
    for fast, slow in zip(expansion.expansion_terms(tower, x), expansion.expansion_terms_brute_force(tower, x)):
        torch.testing.assert_close(fast, slow, rtol=1e-10, atol=1e-12)
    m0, m1, m2 = expansion.expansion_terms(tower, x)
    assert m2.abs().max() > 0 and m1.abs().max() > 0


def test_m2_takes_one_jvp_per_block_after_the_first(monkeypatch):
    calls = []
    real = expansion.jvp
    monkeypatch.setattr(expansion, "jvp", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    for depth in (4, 8):
        calls.clear()
        expansion.expansion_terms(small_tower(depth=depth), torch.randn(2, 1, 32, 32, dtype=torch.float64))
        assert len(calls) == depth - 1


def test_first_order_terms_are_exact_for_a_one_block_tower():
    tower = small_tower(depth=1)
    x = torch.randn(2, 1, 32, 32, dtype=torch.float64)
    m0, m1, m2 = expansion.expansion_terms(tower, x)
    torch.testing.assert_close(tower(x), m0 + tower.lam * m1)  # f = D(z + lam F(z)) exactly
    assert m2.abs().max() == 0


@pytest.mark.parametrize("activation", ["gelu", "tanh"])
def test_smooth_activation_error_is_third_order(activation):
    tower = small_tower(activation)
    lams = np.logspace(-3, -1, 7)
    result = expansion.expansion_error(tower, torch.randn(4, 1, 32, 32, dtype=torch.float64), lams)
    assert 2.7 < result["slope"] < 3.3
    assert tower.lam == 0.1  # restored


def test_geometric_complexity_matches_finite_differences():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3)).double()
    x = torch.randn(4, 1, 2, 3, dtype=torch.float64)
    eps, fd_total = 1e-6, 0.0
    for b in range(4):
        for i in range(6):
            d = torch.zeros_like(x[b : b + 1]).view(-1)
            d[i] = eps
            d = d.view(1, 1, 2, 3)
            column = (net(x[b : b + 1] + d) - net(x[b : b + 1] - d)) / (2 * eps)
            fd_total += column.pow(2).sum().item()
    exact = expansion.geometric_complexity(net, [x[:2], (x[2:], None)])
    assert exact == pytest.approx(fd_total / 4, rel=1e-6)


def test_first_order_complexity_prediction_is_exact_at_lambda_zero_and_tangent():
    tower = small_tower("gelu", depth=3)
    x = torch.randn(2, 1, 32, 32, dtype=torch.float64)
    first = expansion.geometric_complexity_first_order(tower, [x])
    tower.lam = 0.0
    assert expansion.geometric_complexity(tower, [x]) == pytest.approx(first["base"], rel=1e-9)
    h = 1e-4  # the lam-derivative of the exact complexity at 0 is the first-order coefficient
    tower.lam = h
    plus = expansion.geometric_complexity(tower, [x])
    tower.lam = -h
    minus = expansion.geometric_complexity(tower, [x])
    assert (plus - minus) / (2 * h) == pytest.approx(first["slope"], rel=1e-4)


def test_output_growth_explodes_only_for_lambda_one(sample):
    from resdepth.data import normalize

    x = normalize(sample.test_x[:16], sample.mean, sample.std)
    growth = expansion.output_growth(x, depths=[1, 30, 100], width=8)
    by = growth.set_index(["lam_rule", "depth"])["tower_gain"]
    assert by[("1", 100)] > 1e3 * by[("1", 1)]  # the combinatorial explosion
    assert by[("1/n", 100)] < 10 and by[("1/sqrt(n)", 100)] < 100
    assert by[("1/n", 100)] < by[("1/sqrt(n)", 100)] < by[("1", 100)]


@pytest.mark.parametrize("batchnorm", [False, True])
def test_zeroed_last_block_embeds_the_shallower_tower(batchnorm):
    torch.manual_seed(0)
    tower = ResidualTower(depth=4, width=6, lam="1/sqrt(n)", batchnorm=batchnorm, in_channels=1)
    x, y = torch.randn(5, 1, 32, 32), torch.randint(0, 10, (5,))
    tower.train()
    tower(x)  # non-trivial BN running statistics
    result = expansion.embedding_check(tower, x, y)
    assert result["max_abs_diff"] == 0.0 and result["loss_deep"] == result["loss_shallow"]
