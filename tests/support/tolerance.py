"""The kernel grid's judgement of one case: how far a kernel's output may be from the reference, and the other checks.

Bound, per element of a valid query row of sequence b:

    |out - ref| <= TOLERANCE[dtype] * (|ref| + rms_b),   rms_b = root mean square of ref over sequence b's valid rows

The |ref| term covers rounding the output itself (relative to each element); the rms_b term covers the errors that
scale with the sequence's typical output rather than with the element (P rounded to 16 bits before P·V, fp32
accumulation over the keys). A long sequence has small outputs (|ref| ~ 1/sqrt(len) for unit-normal inputs), and
its bound shrinks with them: an absolute term would let a kernel that drops a key there pass.

Derivation (u = unit roundoff: fp16 2^-11 = 4.9e-4, bf16 2^-8 = 3.9e-3):
  - Recorded on the H100 (bench/results/h100-gpu-check.json, the grid below at commit 93a994a; docs/gpu-results.md),
    worst max|out - ref| / max|ref| per case: fp16 4.8e-4 (flash) = 0.99u, bf16 3.7e-3 (flash) = 0.95u,
    fp32 2.7e-6 (reference).
  - The element-wise measure |out - ref| / (|ref| + rms_b) is not in those records. A CPU emulation of the flash
    kernel (fp32 scores and sums, P rounded to the dtype before P·V, output rounded; single sequences of
    7..4096 keys, head sizes 64/128, unit-normal inputs, against float64) gives it at most 1.9u for fp16 and bf16
    where its max-ratio is 0.7-0.9u, i.e. about 2.1x the recorded measure; fp32 against float64: 2.8e-6 where the
    max-ratio is 1.3e-6.
  - Observed element-wise error, then: about 2u for the 16-bit types, about 6e-6 for fp32 (2.1 x 2.7e-6). The
    bounds below are 2.5x that: fp16 5u = 2.5e-3, bf16 5u = 2e-2; fp32 3e-5, 2.5x the element-wise error measured on
    the H100 at commit f4350a6 (1.2e-5, the reference kernel at head size 200), above the emulated 6e-6.
  - What they catch (the same emulation): dropping the last key of one S=4096 head errs by 145-325u of max|ref| in
    fp16 and 15-34u in bf16 (the bound is at most 5.8u of max|ref|); a softmax scale 1 % off by 80u (fp16) and
    8-9u (bf16) at S >= 2048. The old bound, 1e-2 + 1e-2·|ref| (fp16) and 4e-2 + 2e-2·|ref| (bf16), passed the
    dropped key in bf16 from S = 2048. tests/plugins/test_fault_injection.py (CPU) and test_gpu_faults.py (GPU)
    check that the grid fails on each injected fault.

Other checks: padded query rows (i >= len) must be exact zeros, and valid rows finite.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from reference import valid_rows

TOLERANCE = {torch.float16: 2.5e-3, torch.bfloat16: 2e-2, torch.float32: 3e-5}


@dataclass
class Verdict:
    within: bool             # every valid element inside its bound (NaN is outside)
    padded_rows_zero: bool   # every padded query row exactly 0
    worst_error: float       # |out - ref| at the element nearest its bound (relative to the bound)
    worst_bound: float       # the bound there
    max_abs: float           # largest |out - ref| over the valid rows

    @property
    def passed(self) -> bool:
        return self.within and self.padded_rows_zero

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, ok in (("tolerance", self.within), ("padded rows zero", self.padded_rows_zero)) if not ok]

    def describe(self) -> str:
        return (f"worst error {self.worst_error:.3g} vs bound {self.worst_bound:.3g} "
                f"(max abs {self.max_abs:.3g}); padded rows zero: {self.padded_rows_zero}")


def judge(out: torch.Tensor, ref: torch.Tensor, lens, dtype) -> Verdict:
    """out [B, S, W] in the kernel's dtype (padded form), ref [B, S, W] fp32/fp64 with zeros past each length,
    lens [B] as ints; dtype selects the tolerance."""
    b, s, w = out.shape
    valid = valid_rows(lens, s, out.device)
    ref = ref.to(device=out.device, dtype=torch.float64)
    diff = (out.double() - ref).abs()
    counts = torch.as_tensor(lens, device=out.device, dtype=torch.float64).clamp(min=1) * w
    rms = ((ref * ref) * valid[:, :, None]).sum(dim=(1, 2)).div(counts).sqrt()
    bound = TOLERANCE[dtype] * (ref.abs() + rms[:, None, None])
    zero = torch.zeros((), dtype=torch.float64, device=out.device)
    ratio = torch.where(valid[:, :, None] & (diff != 0), diff / bound, zero)  # 0/0 (an all-zero row) is no error
    ratio = torch.nan_to_num(ratio, nan=float("inf"))
    if bool(valid.any()):
        worst = int(ratio.argmax())
        worst_error, worst_bound = float(diff.flatten()[worst]), float(bound.flatten()[worst])
        max_abs = float(torch.nan_to_num(diff[valid], nan=float("inf")).max())
        within = bool((ratio <= 1).all())
    else:
        worst_error = worst_bound = max_abs = 0.0
        within = True
    padded_rows_zero = bool((out[~valid] == 0).all()) if bool((~valid).any()) else True
    return Verdict(within, padded_rows_zero, worst_error, worst_bound, max_abs)
