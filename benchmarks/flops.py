"""Model FLOPs, counted analytically from the layer shapes of one forward pass.

    conv2d:  2 * (C_in / groups) * k_h * k_w * C_out * H_out * W_out   (a multiply-add is 2 FLOPs)
    linear:  2 * d_in * d_out
    training step = 3 x forward   (backward: one product for the input gradient, one for the weights)

Normalization, activations, pooling and the optimizer are left out: they are memory-bound and a
few percent of the FLOPs. This is the convention of model FLOPs utilization (MFU, PaLM Appendix B).
"""

import torch
from torch import nn

# Dense bf16 tensor-core peaks from the vendors' data sheets, in FLOP/s (no sparsity).
BF16_PEAK_FLOPS = {
    "H100 PCIe": 756e12,
    "H100": 989e12,  # SXM; also H100 NVL per GPU is lower, name it with --peak-tflops
    "H200": 989e12,
    "A100": 312e12,
    "L40S": 362e12,
    "A10G": 125e12,
}


def forward_flops_per_image(model: nn.Module, image_shape) -> int:
    """FLOPs of one forward pass on one image of ``image_shape`` (C, H, W), by the formulas above."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            c_out, c_in_per_group, k_h, k_w = module.weight.shape
            total += 2 * c_in_per_group * k_h * k_w * c_out * output.shape[-2] * output.shape[-1]
        elif isinstance(module, nn.Linear):
            total += 2 * module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *image_shape, device=next(model.parameters()).device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return total


def training_flops_per_image(model: nn.Module, image_shape) -> int:
    return 3 * forward_flops_per_image(model, image_shape)


def bf16_peak_flops(device_name: str) -> float | None:
    """The data-sheet bf16 dense peak of a CUDA device, matched on its name; None if unknown."""
    for name in sorted(BF16_PEAK_FLOPS, key=len, reverse=True):  # "H100 PCIe" before "H100"
        if name in device_name:
            return BF16_PEAK_FLOPS[name]
    return None
