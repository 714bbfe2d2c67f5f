"""Training throughput: the project's loop against a naive PyTorch loop, on the same model.

- naive: a torchvision ``DataLoader`` (``min(4, cores)`` workers, shuffled) with per-image
  transforms (RandomCrop(32, padding=4), RandomHorizontalFlip, ToDtype, Normalize), NCHW fp32,
  ``optimizer.zero_grad()``, plain SGD with momentum, ``loss.item()`` every step, no compile;
- resdepth: ``resdepth.train.train`` itself (uint8 data resident on the device, batched on-device
  crop and flip, channels_last, fused/foreach SGD, no host sync between log steps), at each
  precision it offers on the device: fp32 and bf16 autocast on the CPU, bf16 autocast on CUDA.

Each loop runs ``steps`` warm-up steps, then is timed over ``steps`` more (the project loop's
timing is its own second logging interval, which excludes evaluation). Both train on Fashion-MNIST (1x32x32).
"""

import os
import time

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from flops import bf16_peak_flops, training_flops_per_image
from resdepth.config import RunConfig
from resdepth.data import load_dataset
from resdepth.models import build_model
from resdepth.train import autocast_policy, cpu_has_bf16_kernels, device_name, train

# label: (model, model args, batch size). The towers are the paper's (Figure 1: n=16, width 256;
# Table 1: n=100, width 256).
MODELS = {
    "tower n=16 w=256": ("tower", dict(depth=16, width=256), 128),
    "tower n=100 w=256": ("tower", dict(depth=100, width=256), 64),
    "repvgg_a2": ("repvgg_a2", {}, 128),
    "resnet56": ("resnet56", {}, 128),
}


class PerImageDataset(torch.utils.data.Dataset):
    def __init__(self, x, y, mean, std):
        self.x, self.y = x, y
        self.transform = v2.Compose([
            v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std),
        ])

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.transform(self.x[i]), self.y[i]


def naive_images_per_s(model_name, model_args, data, batch_size, steps, device) -> float:
    torch.manual_seed(0)
    model = build_model(model_name, data.in_channels, data.num_classes, **model_args).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loader = torch.utils.data.DataLoader(
        PerImageDataset(data.train_x, data.train_y, data.mean, data.std), batch_size=batch_size, shuffle=True,
        num_workers=min(4, os.cpu_count() or 1), drop_last=True, pin_memory=device.type == "cuda")
    batches = iter(loader)
    model.train()
    for i in range(2 * steps):
        if i == steps:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        x, y = next(batches)
        x, y = x.to(device), y.to(device)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()  # the usual per-step logging
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def resdepth_images_per_s(model_name, model_args, dataset, batch_size, steps, device, precision) -> float:
    cfg = RunConfig(experiment="benchmark", model=model_name, model_args=model_args, dataset=dataset,
                    steps=2 * steps, eval_every=steps, batch_size=batch_size, lr=0.01, precision=precision)
    record, _ = train(cfg, device=device, progress=False, log_every=steps)
    return record["history"][1]["images_per_s"]  # the second interval: warm; evaluation is not timed


def precisions(device: torch.device) -> list:
    """bf16 on the CPU only where oneDNN has bf16 kernels (elsewhere it times a slow fallback)."""
    if device.type == "cuda":
        return ["auto"]
    return ["fp32", "bf16"] if cpu_has_bf16_kernels() else ["fp32"]


def run(device: torch.device, labels, steps: int, dataset: str = "fashion_mnist",
        peak_tflops: float | None = None) -> list:
    """One row per (model, loop): images/s, the ratio to the naive loop, achieved TFLOP/s and MFU."""
    data = load_dataset(dataset)
    name = device_name(device)
    peak = peak_tflops * 1e12 if peak_tflops else (bf16_peak_flops(name) if device.type == "cuda" else None)
    rows = []
    for label in labels:
        model_name, model_args, batch_size = MODELS[label]
        model = build_model(model_name, data.in_channels, data.num_classes, **model_args)
        flops = training_flops_per_image(model, data.train_x.shape[1:])
        naive = naive_images_per_s(model_name, model_args, data, batch_size, steps, device)
        measured = [("naive fp32", naive)]
        for precision in precisions(device):
            ours = resdepth_images_per_s(model_name, model_args, dataset, batch_size, steps, device, precision)
            loop = "resdepth " + ("bf16" if autocast_policy(device, precision)[0] == "bf16-autocast" else "fp32")
            measured.append((loop, ours))
        for loop, images_per_s in measured:
            achieved = flops * images_per_s
            rows.append({
                "model": label, "loop": loop, "batch": batch_size, "images_per_s": round(images_per_s, 1),
                "vs_naive": round(images_per_s / naive, 2), "train_gflop_per_image": round(flops / 1e9, 3),
                "achieved_tflops": round(achieved / 1e12, 3),
                "mfu_bf16": round(achieved / peak, 3) if (peak and "bf16" in loop) else None,
                "device": name, "timed_steps": steps,
            })
            print(f"  {label:<18} {loop:<14} {images_per_s:>9.1f} img/s  x{images_per_s / naive:.2f}", flush=True)
    return rows
