import pytest
import torch

from resdepth.errors import ConfigError
from resdepth.linearize import LinearizablePReLU, freeze_linear_units, l05_penalty, prelus, to_prelu
from resdepth.models import build_model
from resdepth.train import parameter_groups


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
    act.alpha.data = torch.tensor([0.995, 0.5, 1.02])
    assert act.freeze(0.01) == 1
    assert act.alpha.tolist() == pytest.approx([1.0, 0.5, 1.02]) and act.alpha[0].item() == 1.0
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
