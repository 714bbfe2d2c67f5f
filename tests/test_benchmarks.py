"""The benchmark suite's FLOP count, against the closed form of the tower's layer shapes."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from flops import bf16_peak_flops, forward_flops_per_image, training_flops_per_image  # noqa: E402

from resdepth.models import build_model, resnet56  # noqa: E402


@pytest.mark.parametrize("depth, width", [(1, 8), (16, 256), (100, 64)])
def test_tower_flops_match_the_closed_form(depth, width):
    # stem: 7x7/2 conv 1 -> w channels on a 16x16 output; each block: two 3x3 w -> w convs on 8x8;
    # decoder: w -> 10. A multiply-add is 2 FLOPs.
    expected = 2 * 49 * 1 * width * 16 * 16 + depth * 2 * (2 * 9 * width * width * 8 * 8) + 2 * width * 10
    tower = build_model("tower", 1, 10, depth=depth, width=width)
    assert forward_flops_per_image(tower, (1, 32, 32)) == expected
    assert training_flops_per_image(tower, (1, 32, 32)) == 3 * expected


def test_resnet56_flops_are_the_known_125_million_multiply_adds():
    flops = forward_flops_per_image(resnet56(in_channels=3, num_classes=10), (3, 32, 32))
    assert 0.24e9 < flops < 0.26e9  # He et al. 2016: ResNet-56 on CIFAR is ~125M multiply-adds


def test_peak_lookup_prefers_the_longest_name():
    assert bf16_peak_flops("NVIDIA H100 PCIe") == 756e12 and bf16_peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert bf16_peak_flops("cpu (x86_64, 2 threads)") is None
