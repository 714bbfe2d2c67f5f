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


@pytest.mark.parametrize("name, peak_tflops", [
    ("NVIDIA H100 80GB HBM3", 989),  # the SXM part's name
    ("NVIDIA H100 PCIe", 756),
    ("NVIDIA H100 NVL", 835),  # per GPU
    ("NVIDIA H200", 989),
    ("NVIDIA A100-SXM4-80GB", 312),
    ("NVIDIA A100-SXM4-40GB", 312),
    ("NVIDIA A100 80GB PCIe", 312),
    ("NVIDIA L4", 121),
    ("NVIDIA L40S", 362),
    ("NVIDIA H200 NVL", 835),  # also in the table: the other names a lent GPU may carry
    ("NVIDIA GH200 480GB", 989),
    ("NVIDIA L40", 181),
    ("NVIDIA A10", 125),
])
def test_peak_lookup_matches_each_gpu_model_on_its_full_name(name, peak_tflops):
    assert bf16_peak_flops(name) == peak_tflops * 1e12


@pytest.mark.parametrize("name", ["cpu (x86_64, 2 threads)", "NVIDIA GeForce RTX 4090", "NVIDIA A10G",
                                  "Tesla V100-SXM2-16GB"])
def test_peak_lookup_of_an_unknown_device_is_none(name):
    assert bf16_peak_flops(name) is None


def test_workload_times_a_tiny_case_and_writes_the_csv_columns(tmp_path):
    import pandas as pd
    import workload

    tiny = dict(depth=1, width=4, lam="1/sqrt(n)", batchnorm=False)
    cases = {
        "tiny tower": workload.Case("train", "tower", tiny, 8, cpu_steps=1, gpu_steps=1, optimizer=workload.TOWER_SGD,
                                    bf16_on_cpu=True, mfu=True),
        "tiny post": workload.Case("post", "repvgg_a0", dict(width_scale=0.25), 8, cpu_steps=1, gpu_steps=1,
                                   optimizer=workload.POST_ADAMW),
        "tiny eval": workload.Case("eval", "tower", tiny, 1000, cpu_steps=1, gpu_steps=1, reference="tiny tower"),
    }
    path = tmp_path / "workload.csv"
    rows = workload.run("cpu", rounds=1, steps=1, warmup=1, threads=[1], precisions=["bf16"], csv_path=path,
                        cases=cases, eval_images=1000, log=lambda *a, **k: None)
    df = pd.read_csv(path)
    assert list(df.columns) == workload.COLUMNS and len(df) == len(rows)
    # fp32 for every case on the CPU, and a bf16 row only for the case that offers it, where the
    # CPU has oneDNN bf16 kernels (an AVX2-only CPU would time torch's slow reference kernel)
    bf16 = [("tiny tower", "bf16")] if workload.cpu_has_bf16_kernels() else []
    assert sorted(zip(df["case"], df["precision"])) == sorted(
        [("tiny eval", "fp32"), ("tiny post", "fp32"), ("tiny tower", "fp32")] + bf16)
    assert (df["images_per_s"] > 0).all() and (df["threads"] == 1).all() and df["loss_finite"].all()
    assert df.loc[df["case"] == "tiny eval", "images"].item() == 1000
    assert df.loc[df["case"] == "tiny eval", "eval_in_train_steps"].item() > 0
    assert df["mfu_bf16"].isna().all()  # MFU only on CUDA
    table = workload.markdown(workload.summary(rows))
    assert table.startswith("| case |") and "tiny eval" in table


def test_cuda_check_takes_table1s_own_runs_and_refuses_a_machine_without_cuda_in_one_line(capsys, monkeypatch):
    import torch

    import cuda_check

    deep = cuda_check.table1_runs(1000, steps=5, eval_every=5)
    assert len(deep) == 4  # the book grid at n = 1000, lambda = 1/sqrt(n): 2 learning rates x 2 seeds
    assert {c.model_kwargs["lam"] for c in deep} == {"1/sqrt(n)"} and {c.steps for c in deep} == {5}
    assert all(c.experiment == "cuda_check" and c.epochs is None for c in deep)  # never the book's keys
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cuda_check.main([]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "no CUDA device here" in out
