"""Model FLOPs, counted analytically from the layer shapes of one forward pass.

    conv2d:  2 * (C_in / groups) * k_h * k_w * C_out * H_out * W_out   (a multiply-add is 2 FLOPs)
    linear:  2 * d_in * d_out
    training step = 3 x forward   (backward: one product for the input gradient, one for the weights)

Normalization, activations, pooling and the optimizer are left out: they are memory-bound and a
few percent of the FLOPs. This is the convention of model FLOPs utilization (MFU, PaLM Appendix B).
"""

import re

from torch import nn

from resdepth.plan import forward_flops_per_image  # noqa: F401  (re-exported for the benchmarks)

# Dense bf16 tensor-core peaks from the vendors' data sheets, in FLOP/s (no sparsity: half the
# data sheets' starred figures), per GPU model. Matched in order on the full name that
# ``torch.cuda.get_device_name()`` reports, so each variant comes before its family's catch-all:
# "NVIDIA H100 PCIe" and "NVIDIA H100 NVL" before "NVIDIA H100 80GB HBM3" (the SXM part), and
# whole words only, so "L4" never matches "L40S", nor "A10" "A100" or "A10G".
BF16_PEAKS = (
    # (regular expression on the device name, GPU model, dense bf16 FLOP/s)
    (r"\bH100\b.*\bPCIe\b", "H100 PCIe", 756e12),
    (r"\bH100\b.*\bNVL\b", "H100 NVL", 835e12),  # per GPU of the NVL pair
    (r"\bH100\b", "H100 SXM", 989e12),  # "NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM5 ..."
    (r"\bH200\b.*\bNVL\b", "H200 NVL", 835e12),
    (r"\bG?H200\b", "H200", 989e12),  # "NVIDIA H200", and GH200's Hopper GPU
    (r"\bA100\b", "A100", 312e12),  # SXM4 and PCIe, 40 and 80 GB alike
    (r"\bL40S\b", "L40S", 362e12),
    (r"\bL40\b", "L40", 181e12),
    (r"\bL4\b", "L4", 121e12),
    (r"\bA10\b", "A10", 125e12),  # not the A10G, whose peak NVIDIA does not publish
)


def training_flops_per_image(model: nn.Module, image_shape) -> int:
    return 3 * forward_flops_per_image(model, image_shape)


def bf16_peak(device_name: str) -> tuple | None:
    """(GPU model, data-sheet dense bf16 FLOP/s) of a CUDA device, matched on the full name that
    ``torch.cuda.get_device_name()`` reports; None if the model is not in ``BF16_PEAKS``."""
    for pattern, model, peak in BF16_PEAKS:
        if re.search(pattern, device_name, flags=re.IGNORECASE):
            return model, peak
    return None


def bf16_peak_flops(device_name: str) -> float | None:
    """The data-sheet dense bf16 peak of a CUDA device, in FLOP/s; None if unknown (then the
    caller asks for ``--peak-tflops``)."""
    found = bf16_peak(device_name)
    return found[1] if found else None
