import pytest
import torch

from resdepth.function_space import ResidualLayer, feedforward_error, parameter_counts, residual_as_feedforward
from resdepth.models import build_model


@pytest.mark.parametrize("activation, offset", [("tanh", 0.0), ("gelu", 0.0), ("tanh", 0.5)])
def test_proposition1_error_falls_with_eps_for_smooth_activations(activation, offset):
    torch.manual_seed(0)
    block, x = ResidualLayer(6, activation).double(), torch.randn(128, 6, dtype=torch.float64)
    errors = [feedforward_error(block, x, eps, offset) for eps in (1.0, 0.1, 0.01, 0.001)]
    assert all(b < a for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 1e-2 * errors[0]


def test_proposition1_relu_is_exact_once_the_offset_covers_the_input():
    torch.manual_seed(0)
    block, x = ResidualLayer(6, "relu").double(), torch.randn(128, 6, dtype=torch.float64)
    bound = 1.0 / (-x).max().item()  # eps * x + 1 >= 0 for every coordinate
    assert feedforward_error(block, x, 0.9 * bound) < 1e-12
    assert feedforward_error(block, x, 3.0 * bound) > 1e-3


def test_feedforward_layer_has_double_width():
    g = residual_as_feedforward(ResidualLayer(5), 0.1)
    assert g[0].out_features == 10 and g[2].in_features == 10 and g[2].out_features == 5


def test_bad_eps_and_flat_offset_are_refused():
    with pytest.raises(ValueError, match="eps"):
        residual_as_feedforward(ResidualLayer(3), 0.0)
    with pytest.raises(ValueError, match="offset"):
        residual_as_feedforward(ResidualLayer(3, "relu"), 0.1, offset=-1.0)


def test_channelwise_overhead_on_repvgg_a2_is_about_three_hundredths_of_a_percent():
    counts = parameter_counts(lambda: build_model("repvgg_a2", 3, 100).reparameterize(), torch.randn(1, 3, 32, 32))
    assert counts["slopes_layer"] == 22
    assert counts["slopes_channel"] == 64 + 2 * 96 + 4 * 192 + 14 * 384 + 1408
    assert 0.02 < counts["overhead_pct"] < 0.04
