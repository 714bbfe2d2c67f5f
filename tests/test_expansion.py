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
