import inspect
import math

import pytest
import torch

from resdepth import function_space
from resdepth.config import RunConfig
from resdepth.errors import ConfigError
from resdepth.models import (
    ACTIVATIONS,
    MODELS,
    ResidualTower,
    build_model,
    check_model_args,
    list_models,
    model_arg_names,
    model_defaults,
    resolve_lam,
)
from resdepth.models.registry import ARG_CHECKS
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


def hand_same_max_pool(x, kernel=3, stride=2):
    """Flax 'SAME' max pooling by hand, one output pixel at a time: output i covers input rows
    i*stride - before ... with before = total // 2, total = (out - 1) * stride + kernel - size."""
    size = x.shape[-1]
    out = (size + stride - 1) // stride
    before = max((out - 1) * stride + kernel - size, 0) // 2
    result = torch.empty(*x.shape[:-2], out, out)
    for i in range(out):
        for j in range(out):
            rows = [r for r in range(i * stride - before, i * stride - before + kernel) if 0 <= r < size]
            cols = [c for c in range(j * stride - before, j * stride - before + kernel) if 0 <= c < size]
            result[..., i, j] = x[..., rows, :][..., cols].amax(dim=(-2, -1))
    return result


def test_stem_pool_is_flax_same_padding():
    from resdepth.models.tower import same_pad
    assert same_pad(16, 3, 2) == (0, 1)  # Flax 'SAME' on the stem's 16x16 map: nothing before, 1 after
    assert same_pad(15, 3, 2) == (1, 1) and same_pad(8, 2, 2) == (0, 0)
    tower = ResidualTower(depth=1, width=4, in_channels=1).eval()
    x = torch.randn(2, 1, 32, 32)
    pre_pool = torch.nn.Sequential(*list(tower.encoder)[:3])(x)  # conv -> BN -> ReLU: a 4 x 16 x 16 map
    assert pre_pool.shape[-1] == 16
    torch.testing.assert_close(tower.encoder(x), hand_same_max_pool(pre_pool), rtol=0, atol=0)
    # negative inputs: a padded pixel must never win the max (it is -inf, not 0)
    negative = -torch.rand(1, 2, 16, 16) - 1
    torch.testing.assert_close(tower.encoder[3](negative), hand_same_max_pool(negative), rtol=0, atol=0)


def test_symmetric_stem_pool_differs_and_is_labelled():
    x = torch.randn(2, 1, 32, 32)
    torch.manual_seed(0)
    same = ResidualTower(depth=1, width=4, in_channels=1).eval()
    torch.manual_seed(0)
    symmetric = ResidualTower(depth=1, width=4, in_channels=1, stem_pool="symmetric").eval()
    pre_pool = torch.nn.Sequential(*list(same.encoder)[:3])(x)
    moved = (same.encoder[3](pre_pool) != symmetric.encoder[3](pre_pool)).float().mean().item()
    assert 0.5 < moved < 0.9  # most pooled values move (the issue measured 69%)
    assert build_model("tower", 1, 10, depth=1, width=4).stem_pool == "same"
    assert dict(RunConfig(model_args=dict(depth=2, width=4), epochs=1).model_args)["stem_pool"] == "same"
    with pytest.raises(ConfigError, match="stem_pool must be 'same'"):
        RunConfig(model_args=dict(depth=2, width=4, stem_pool="valid"), epochs=1)


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


# --- the registry -----------------------------------------------------------------------------

NAMES = ["tower", "resnet56", "plain56", "resnet20", "plain20", "repvgg_a0", "repvgg_a1", "repvgg_a2"]

# Stored results are named by a hash of the config, model defaults included: these must never change.
PINNED_DEFAULTS = {
    "tower": {"width": 256, "lam": "1/sqrt(n)", "batchnorm": False, "activation": "relu", "stem_pool": "same"},
    "resnet56": {},
    "plain56": {},
    "resnet20": {},
    "plain20": {},
    "repvgg_a0": {"width_scale": 1.0},
    "repvgg_a1": {"width_scale": 1.0},
    "repvgg_a2": {"width_scale": 1.0},
}


def test_registration_order_and_names():
    assert list(MODELS) == NAMES
    assert list_models() == NAMES
    assert all(MODELS[name].__name__ == name for name in NAMES)


def test_every_constructor_has_a_one_line_docstring_and_standard_last_arguments():
    for name, fn in MODELS.items():
        assert fn.__doc__ and "\n" not in fn.__doc__.strip(), name
        assert list(inspect.signature(fn).parameters)[-2:] == ["in_channels", "num_classes"]


@pytest.mark.parametrize("name", NAMES)
def test_model_defaults_are_pinned(name):
    defaults = model_defaults(name)
    assert defaults == PINNED_DEFAULTS[name]
    assert [type(v) for v in defaults.values()] == [type(v) for v in PINNED_DEFAULTS[name].values()]  # 1.0, not 1


def test_model_arg_names():
    assert model_arg_names("tower") == ["depth", "width", "lam", "batchnorm", "activation", "stem_pool"]
    assert model_arg_names("resnet56") == []
    assert model_arg_names("repvgg_a1") == ["width_scale"]


def test_every_model_argument_has_a_value_check():
    assert {arg for name in MODELS for arg in model_arg_names(name)} <= set(ARG_CHECKS)


def test_one_activation_table():
    assert ACTIVATIONS == {"relu": torch.nn.ReLU, "gelu": torch.nn.GELU, "tanh": torch.nn.Tanh}
    assert function_space.ACTIVATIONS is ACTIVATIONS


def test_check_model_args_merges_over_defaults_and_keeps_values():
    assert check_model_args("tower", {"depth": 4, "lam": "1"}) == {
        "depth": 4, "width": 256, "lam": "1", "batchnorm": False, "activation": "relu", "stem_pool": "same"}
    assert check_model_args("repvgg_a0", {}) == {"width_scale": 1.0}
    assert check_model_args("repvgg_a0", {"width_scale": 3}) == {"width_scale": 3}  # 3 * 1280 = 3840 <= 4096
    assert check_model_args("repvgg_a2", {"width_scale": 4096 / 1408}) == {"width_scale": 4096 / 1408}
    assert check_model_args("resnet20", {}) == {}
    assert check_model_args("tower", {"depth": 100_000, "width": 16_384})["depth"] == 100_000


@pytest.mark.parametrize("name, args, match", [
    ("resnet57", {}, r"unknown model 'resnet57'; choose one of tower, resnet56, .*, repvgg_a2$"),
    ("resnet56", {"depth": 20}, r"model 'resnet56' takes no argument\(s\) depth; it takes: none"),
    ("tower", {"depth": 3, "widht": 8}, r"takes no argument\(s\) widht; it takes: depth, width, lam, batchnorm"),
    ("repvgg_a0", {"width": 8}, r"takes no argument\(s\) width; it takes: width_scale"),
    ("tower", {"width": 8}, r"model 'tower' needs argument\(s\) depth; it takes: depth, width"),
    ("tower", {"depth": 0}, r"depth must be an integer >= 1 and <= 100000 .*; got 0"),
    ("tower", {"depth": -3}, r"depth must be an integer >= 1"),
    ("tower", {"depth": 2.5}, r"depth must be an integer >= 1"),
    ("tower", {"depth": "10"}, r"depth must be an integer >= 1"),
    ("tower", {"depth": True}, r"depth must be an integer >= 1"),
    ("tower", {"depth": 100_001}, r"depth must be an integer >= 1 and <= 100000"),
    ("tower", {"depth": 3, "width": 0}, r"width must be an integer >= 1 and <= 16384"),
    ("tower", {"depth": 3, "width": 8.0}, r"width must be an integer"),
    ("tower", {"depth": 3, "width": True}, r"width must be an integer"),
    ("tower", {"depth": 3, "width": 16_385}, r"width must be an integer >= 1 and <= 16384 \(channels\); got 16385"),
    ("tower", {"depth": 3, "lam": "abc"}, r"lam must be a number >= 0 or one of '1', '1/n', '1/sqrt\(n\)'"),
    ("tower", {"depth": 3, "lam": -1.0}, r"lam must be finite and >= 0"),
    ("tower", {"depth": 3, "lam": None}, r"lam must be a float or a rule string"),
    ("tower", {"depth": 3, "batchnorm": "false"}, r"batchnorm must be true or false \(a bool, not a string"),
    ("tower", {"depth": 3, "batchnorm": "true"}, r"batchnorm must be true or false"),
    ("tower", {"depth": 3, "batchnorm": 1}, r"batchnorm must be true or false"),
    ("tower", {"depth": 3, "activation": "sigmoid"}, r"activation must be one of relu, gelu, tanh; got 'sigmoid'"),
    ("tower", {"depth": 3, "activation": ["relu"]}, r"activation must be one of relu, gelu, tanh"),
    ("repvgg_a0", {"width_scale": 0}, r"width_scale must be a finite number > 0 .*; got 0$"),
    ("repvgg_a1", {"width_scale": -1}, r"width_scale must be a finite number > 0"),
    ("repvgg_a2", {"width_scale": 0.0}, r"width_scale must be a finite number > 0"),
    ("repvgg_a2", {"width_scale": float("nan")}, r"width_scale must be a finite number > 0"),
    ("repvgg_a2", {"width_scale": float("inf")}, r"width_scale must be a finite number > 0"),
    ("repvgg_a2", {"width_scale": "0.5"}, r"width_scale must be a finite number > 0"),
    ("repvgg_a2", {"width_scale": True}, r"width_scale must be a finite number > 0"),
    ("repvgg_a2", {"width_scale": 3.0}, r"RepVGG-A2 stage 4224 channels wide, over the limit of 4096; .*<= 2\.909$"),
    ("repvgg_a0", {"width_scale": 1e300}, r"over the limit of 4096; use a width_scale > 0 and <= 3\.2$"),
])
def test_check_model_args_errors_are_one_line_config_errors(name, args, match):
    with pytest.raises(ConfigError, match=match) as err:
        check_model_args(name, args)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=match):  # build_model checks through check_model_args
        build_model(name, 1, 10, **args)


@pytest.mark.parametrize("width_scale", [0, -1])
def test_repvgg_width_scale_zero_or_negative_is_rejected_even_when_built_directly(width_scale):
    with pytest.raises(ConfigError, match="width_scale must be a finite number > 0"):
        RepVGG("a0", width_scale=width_scale)


def test_tower_built_directly_rejects_string_batchnorm():
    with pytest.raises(ConfigError, match="batchnorm must be true or false"):
        ResidualTower(depth=2, width=4, batchnorm="false")


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_model_builds_and_runs(name):
    args = {"tower": dict(depth=2, width=8)}.get(name, {"width_scale": 0.125} if name.startswith("repvgg") else {})
    model = build_model(name, in_channels=1, num_classes=10, **args).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 32, 32)).shape == (1, 10)
