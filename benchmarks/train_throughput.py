"""Training throughput: the project's loop against a naive PyTorch loop, side by side.

    python benchmarks/train_throughput.py [--steps 30] [--device cpu] [--dataset fashion_mnist]

- project loop: ``resdepth.train.train`` (uint8 data resident on the device, batched on-device
  crop/flip, channels_last, bf16 autocast and fused SGD on CUDA);
- naive loop: torchvision DataLoader over the same uint8 images with per-image transforms
  (RandomCrop(32, padding=4), RandomHorizontalFlip, ToDtype, Normalize), NCHW fp32,
  ``optimizer.zero_grad()``, no compile, 2 loader workers.

Both train the same model with the same batch size and SGD settings. Each is timed over
``--steps`` steps after as many warm-up steps; the table gives images/s and the ratio.
"""

import argparse
import time

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from resdepth.config import RunConfig
from resdepth.data import load_dataset
from resdepth.models import build_model
from resdepth.train import device_name, pick_device, train

MODELS = {
    "tower n=16 w=64": ("tower", dict(depth=16, width=64)),
    "resnet56": ("resnet56", {}),
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


def naive_images_per_s(model_name, model_args, data, steps, batch_size, device):
    torch.manual_seed(0)
    model = build_model(model_name, data.in_channels, data.num_classes, **model_args).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = torch.utils.data.DataLoader(PerImageDataset(data.train_x, data.train_y, data.mean, data.std),
                                         batch_size=batch_size, shuffle=True, num_workers=2, drop_last=True)
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
        loss.item()  # the usual per-step logging sync
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch_size / (time.perf_counter() - start)


def project_images_per_s(model_name, model_args, dataset, steps, batch_size, device):
    cfg = RunConfig(experiment="benchmark", model=model_name, model_args=model_args, dataset=dataset,
                    steps=2 * steps, eval_every=steps, batch_size=batch_size, lr=0.05)
    record, _ = train(cfg, device=device, progress=False, log_every=steps)
    return record["history"][1]["images_per_s"]  # the second interval: warm, and without evaluation time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--dataset", default="fashion_mnist")
    p.add_argument("--device", default="auto")
    p.add_argument("--models", nargs="*", default=list(MODELS))
    args = p.parse_args()
    device = pick_device(args.device)
    data = load_dataset(args.dataset)
    print(f"device: {device_name(device)}, dataset {args.dataset}, batch {args.batch_size}, {args.steps} timed steps\n")
    print(f"{'model':<18} {'naive img/s':>12} {'resdepth img/s':>15} {'ratio':>6}")
    for label in args.models:
        name, model_args = MODELS[label]
        naive = naive_images_per_s(name, model_args, data, args.steps, args.batch_size, device)
        ours = project_images_per_s(name, model_args, args.dataset, args.steps, args.batch_size, device)
        print(f"{label:<18} {naive:>12.0f} {ours:>15.0f} {ours / naive:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
