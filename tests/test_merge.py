import pytest
import torch
from torch import nn

from resdepth.linearize import prelus, to_prelu
from resdepth.merge import compose_convs, interior_margin, merge_linear_layers, parameter_count, weight_layers
from resdepth.models import build_model


def random_conv(c_in, c_out, k, stride):
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=True)
    nn.init.normal_(conv.bias)
    return conv


def interior(t, margin):
    return t[..., margin: t.shape[-2] - margin, margin: t.shape[-1] - margin]


@pytest.mark.parametrize("strides", [(1, 1), (2, 1), (1, 2), (2, 2, 1)])
def test_composed_conv_equals_the_chain_away_from_the_border(strides):
    torch.manual_seed(0)
    convs = [random_conv(3 if i == 0 else 5, 5, 3, s) for i, s in enumerate(strides)]
    fused = convs[0]
    for c in convs[1:]:
        fused = compose_convs(fused, c)
    x = torch.randn(2, 3, 40, 40)
    chain = nn.Sequential(*convs)(x)
    out = fused(x)
    assert out.shape == chain.shape
    m = interior_margin(convs)
    exact, got = interior(chain, m), interior(out, m)
    assert exact.numel() > 0
    assert ((got - exact).norm() / exact.norm()).item() < 1e-5
    assert fused.kernel_size[0] == 1 + 2 * sum(  # receptive field of the chain
        torch.tensor(strides[:i]).prod().item() for i in range(len(strides)))


def deployed_repvgg(blocks: int):
    torch.manual_seed(0)
    model = build_model("repvgg_a0", 1, 10, width_scale=0.125)
    for bn in model.modules():
        if isinstance(bn, nn.BatchNorm2d):
            bn.running_mean.uniform_(-0.2, 0.2), bn.running_var.uniform_(0.5, 2.0)
    model.eval().reparameterize()
    model.body = model.body[:blocks]
    model.head = nn.Linear(model.body[-1][0].out_channels, 10)
    return to_prelu(model, torch.randn(2, 1, 32, 32), "layer")


def test_merge_fuses_runs_of_linear_layers_and_keeps_the_function_in_the_interior():
    model = deployed_repvgg(5)  # stage 0 (1 block), stage 1 (2), stage 2 (2, the first at stride 2)
    acts = prelus(model)
    for i in (0, 1, 3):
        acts[i].alpha.data.fill_(1.0)
    acts[2].alpha.data.fill_(0.3)
    merged = merge_linear_layers(model)
    assert weight_layers(model) == 6 and weight_layers(merged) == 3  # 5 convs + head -> 2 convs + head
    assert parameter_count(merged) != parameter_count(model)
    x = torch.randn(2, 1, 64, 64)
    before, after = model.body(x), merged.body(x)
    assert before.shape == after.shape
    margin = 6  # beyond the receptive-field radius of the 5-conv chain (9 input pixels = 4.5 output pixels)
    exact = interior(before, margin)
    assert ((interior(after, margin) - exact).norm() / exact.norm()).item() < 1e-4
    assert not torch.allclose(before, after, atol=1e-4)  # the zero-padding rim does differ
    assert len(prelus(model)) == 5  # the original is untouched
    # the merged net's one flat slope tensor holds only its own PReLUs' slopes, so its parameter
    # count is that of its convs, head and remaining slopes
    slopes = sum(a.alpha.numel() for a in prelus(merged))
    assert merged.linearization_slopes.alpha.numel() == slopes < model.linearization_slopes.alpha.numel()
    assert parameter_count(merged) == sum(p.numel() for n, p in merged.named_parameters()
                                          if not n.startswith("linearization_slopes")) + slopes


def test_merge_without_linear_layers_changes_nothing():
    model = deployed_repvgg(4)
    merged = merge_linear_layers(model)
    x = torch.randn(2, 1, 32, 32)
    assert weight_layers(merged) == weight_layers(model)
    assert torch.allclose(model(x), merged(x), atol=1e-6)


def test_merge_refuses_an_undeployed_net():
    with pytest.raises(ValueError, match="reparameterize"):
        merge_linear_layers(build_model("repvgg_a0", 1, 10, width_scale=0.125))


def per_pixel_logits(model, x):
    """The head applied at every pixel of the body's output: its global average pool is the logits."""
    return model.head(model.body(x).movedim(1, -1)).movedim(-1, 1)


@pytest.mark.parametrize("linear", [(4,), (3, 4), (0, 1, 3, 4), (0, 1, 2, 3, 4)])
def test_a_linear_tail_is_folded_into_the_head_so_merged_depth_is_napl_plus_one(linear):
    from resdepth.pathlength import napl

    model = deployed_repvgg(5)
    acts = prelus(model)
    for i in linear:
        acts[i].alpha.data.fill_(1.0)
    if 2 not in linear:
        acts[2].alpha.data.fill_(0.3)  # nonlinear, with a slope other than the start's 0
    merged = merge_linear_layers(model)
    assert napl(model) == 5 - len(linear)
    assert weight_layers(merged) == napl(model) + 1  # one conv per nonlinear layer, then the tail and head as one
    x = torch.randn(2, 1, 64, 64)
    if linear == (4,):  # a one-conv tail: nothing fused, the fold into the head is exact everywhere
        assert torch.allclose(merged(x), model(x), atol=1e-5)
    before, after = per_pixel_logits(model, x), merged.body(x)  # the merged body ends in the logits per pixel
    assert before.shape == after.shape
    margin = 6  # beyond the receptive-field radius of the 5-conv chain
    exact = interior(before, margin)
    assert ((interior(after, margin) - exact).norm() / exact.norm()).item() < 1e-4
    assert ((merged(x) - model(x)).norm() / model(x).norm()).item() < 0.1  # only the rim differs
