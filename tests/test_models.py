import math

import pytest
import torch

from resdepth.errors import ConfigError
from resdepth.models import ResidualTower, build_model, resolve_lam
from resdepth.models.repvgg import RepVGG


@pytest.mark.parametrize(
    "name, args",
    [("tower", dict(depth=3, width=8)), ("resnet56", {}), ("plain56", {}),
     ("repvgg_a0", dict(width_scale=0.125)), ("repvgg_a1", dict(width_scale=0.125)), ("repvgg_a2", dict(width_scale=0.125))],
)
@pytest.mark.parametrize("in_channels, num_classes", [(1, 10), (3, 100)])
def test_output_shapes(name, args, in_channels, num_classes):
    model = build_model(name, in_channels, num_classes, **args).eval()
    assert model(torch.randn(2, in_channels, 32, 32)).shape == (2, num_classes)


def test_tower_feature_shapes_and_parts_compose():
    tower = ResidualTower(depth=3, width=8, in_channels=1).eval()
    x = torch.randn(4, 1, 32, 32)
    z = tower.encoder(x)
    assert z.shape == (4, 8, 8, 8)  # 32 -> conv/2 -> 16 -> maxpool/2 -> 8
    assert all(block(z).shape == z.shape for block in tower.blocks)
    manual = z
    for block in tower.blocks:
        manual = manual + tower.lam * block(manual)
    torch.testing.assert_close(tower.decoder(manual), tower(x))


@pytest.mark.parametrize("lam, depth, expected", [
    ("1", 100, 1.0), ("1/n", 100, 0.01), ("1/sqrt(n)", 100, 0.1), ("1 / sqrt(n)", 16, 0.25),
    ("n^-1.5", 16, 16 ** -1.5), ("n^-2", 16, 1 / 256), (0.3, 5, 0.3), (0, 5, 0.0), ("0.5", 5, 0.5),
])
def test_lambda_rules(lam, depth, expected):
    assert resolve_lam(lam, depth) == pytest.approx(expected)
    assert ResidualTower(depth=depth, width=2, lam=lam).lam == pytest.approx(expected)


@pytest.mark.parametrize("lam", ["abc", "1/m", -0.1, float("nan"), float("inf"), "n^x", None, True])
def test_bad_lambda_is_a_clear_error(lam):
    with pytest.raises(ConfigError, match="lam"):
        resolve_lam(lam, 10)


@pytest.mark.parametrize("depth", [0, -3, 2.5, "10"])
def test_bad_depth_is_a_clear_error(depth):
    with pytest.raises(ConfigError, match="depth must be an integer >= 1"):
        ResidualTower(depth=depth, width=4)


def test_unknown_model_and_argument_errors():
    with pytest.raises(ConfigError, match="unknown model 'resnet57'"):
        build_model("resnet57")
    with pytest.raises(ConfigError, match="takes no argument"):
        build_model("resnet56", depth=20)


def test_tower_init_is_flax_lecun_normal():
    tower = ResidualTower(depth=2, width=64, batchnorm=False)
    conv = tower.blocks[0][0]
    fan_in = 64 * 9
    assert conv.weight.std().item() == pytest.approx(math.sqrt(1 / fan_in), rel=0.05)
    assert conv.weight.abs().max().item() <= 2 * math.sqrt(1 / fan_in) / 0.8796 + 1e-6  # truncated at 2 sigma
    assert torch.all(conv.bias == 0) and torch.all(tower.decoder.fc.bias == 0)
    assert tower.decoder.fc.weight.std().item() == pytest.approx(math.sqrt(1 / 64), rel=0.15)


def test_batchnorm_variant_structure():
    plain = [type(m).__name__ for m in ResidualTower(depth=1, width=4, batchnorm=False).blocks[0]]
    bn = [type(m).__name__ for m in ResidualTower(depth=1, width=4, batchnorm=True).blocks[0]]
    assert plain == ["Conv2d", "ReLU", "Conv2d"]  # no ReLU after the second conv
    assert bn == ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d"]


def test_lambda_zero_tower_is_the_base_model():
    tower = ResidualTower(depth=5, width=8, lam=0, in_channels=1).eval()
    x = torch.randn(3, 1, 32, 32)
    torch.testing.assert_close(tower(x), tower.decoder(tower.encoder(x)))


def test_resnet56_depth_and_shortcuts():
    resnet, plain = build_model("resnet56"), build_model("plain56")
    weight_layers = [m for m in resnet.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(weight_layers) == 56
    assert sum(p.numel() for p in resnet.parameters()) == sum(p.numel() for p in plain.parameters())  # option A: free
    plain.load_state_dict(resnet.state_dict())
    x = torch.randn(2, 3, 32, 32)
    assert not torch.allclose(resnet.eval()(x), plain.eval()(x))  # the skips change the function


def test_repvgg_widths_follow_the_paper():
    assert RepVGG("a0").widths == [48, 48, 96, 192, 1280]
    assert RepVGG("a1").widths == [64, 64, 128, 256, 1280]
    assert RepVGG("a2").widths == [64, 96, 192, 384, 1408]
    assert len(RepVGG("a0").body) == 22


@pytest.mark.parametrize("variant", ["a0", "a2"])
def test_repvgg_reparameterization_is_exact_in_eval(variant):
    torch.manual_seed(1)
    model = RepVGG(variant, width_scale=0.25, in_channels=3)
    for m in model.modules():  # non-trivial BN statistics and affine parameters
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.3, 0.3)
    model.eval()
    x = torch.randn(4, 3, 32, 32)
    before = model(x)
    model.reparameterize()
    assert model.is_deployed
    kinds = {type(m).__name__ for block in model.body for m in block}
    assert kinds == {"Conv2d", "ReLU"}
    assert all(m.kernel_size == (3, 3) for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    after = model(x)
    assert ((after - before).norm() / before.norm()).item() < 1e-4
