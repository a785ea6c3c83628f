"""Hardware: accelerators x days x MFU -> FLOPs, and FLOPs -> accelerator-hours, days and cost."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import DataError

SECONDS_PER_DAY = 86_400.0

@dataclass(frozen=True)
class Accelerator:
    """An accelerator's vendor-stated peak dense BF16 throughput (FLOP/s)."""

    name: str
    peak_flops: float
    source: str


#: Peak **dense** BF16 tensor throughput per accelerator, as stated by the vendors (without the
#: 2:4 structured-sparsity doubling that datasheets often print beside it). These are peaks: what a
#: training run achieves is the peak times its model FLOPs utilisation (MFU), typically 0.3-0.5.
#: NVIDIA A100 (SXM and PCIe): 312 TFLOP/s (A100 datasheet); H100 SXM: 989 TFLOP/s and H100 PCIe:
#: 756 TFLOP/s (H100 datasheet, 1,979 and 1,513 "with sparsity"); H200 SXM: 989 TFLOP/s (H200
#: datasheet); B200: 2.25 PFLOP/s (HGX B200 specification, 4.5 with sparsity); AMD Instinct MI300X:
#: 1,307.4 TFLOP/s (AMD MI300X data sheet); Google TPU v4: 275, v5e: 197, v5p: 459 TFLOP/s (Cloud
#: TPU system architecture pages). Edit them where your hardware differs.
ACCELERATORS: dict[str, Accelerator] = {
    a.name: a
    for a in (
        Accelerator("NVIDIA A100", 312e12, "NVIDIA A100 datasheet, BF16 Tensor Core, dense"),
        Accelerator("NVIDIA H100 SXM", 989e12, "NVIDIA H100 datasheet, BF16 Tensor Core, dense"),
        Accelerator("NVIDIA H100 PCIe", 756e12, "NVIDIA H100 datasheet, BF16 Tensor Core, dense"),
        Accelerator("NVIDIA H200", 989e12, "NVIDIA H200 datasheet, BF16 Tensor Core, dense"),
        Accelerator("NVIDIA B200", 2250e12, "NVIDIA HGX B200 specification, BF16 Tensor Core, dense"),
        Accelerator("AMD MI300X", 1307e12, "AMD Instinct MI300X data sheet, BF16, dense"),
        Accelerator("Google TPU v4", 275e12, "Google Cloud TPU v4 system architecture, BF16"),
        Accelerator("Google TPU v5e", 197e12, "Google Cloud TPU v5e system architecture, BF16"),
        Accelerator("Google TPU v5p", 459e12, "Google Cloud TPU v5p system architecture, BF16"),
    )
}


@dataclass(frozen=True)
class Hardware:
    """A training cluster: ``count`` accelerators of ``peak_flops`` (FLOP/s each) at utilisation
    ``mfu``, optionally priced per accelerator-hour. Conversions are vectorised over compute."""

    peak_flops: float
    count: int = 1
    mfu: float = 0.4
    price_per_hour: float | None = None
    name: str = "custom accelerator"

    def __post_init__(self) -> None:
        _positive("peak_flops", self.peak_flops, "FLOP/s per accelerator")
        if isinstance(self.count, bool) or not isinstance(self.count, (int, np.integer)) or self.count < 1:
            raise DataError(f"`count` (number of accelerators) must be a whole number of at least 1; got {self.count!r}")
        if not (isinstance(self.mfu, (int, float)) and 0 < self.mfu <= 1):
            raise DataError(f"`mfu` (model FLOPs utilisation) must be in (0, 1], e.g. 0.4; got {self.mfu!r}")
        if self.price_per_hour is not None and not (
                isinstance(self.price_per_hour, (int, float)) and math.isfinite(self.price_per_hour)
                and self.price_per_hour >= 0):
            raise DataError(f"`price_per_hour` must be a non-negative number; got {self.price_per_hour!r}")

    @classmethod
    def of(cls, accelerator: str, count: int = 1, mfu: float = 0.4, price_per_hour: float | None = None,
           peak_flops: float | None = None) -> Hardware:
        """A cluster of a preset accelerator (``peak_flops`` overrides its datasheet value)."""
        if accelerator not in ACCELERATORS:
            raise DataError(f"unknown accelerator `{accelerator}`; choose one of: {', '.join(ACCELERATORS)}, "
                            "or give its peak FLOP/s")
        peak = ACCELERATORS[accelerator].peak_flops if peak_flops is None else peak_flops
        return cls(peak, count, mfu, price_per_hour, accelerator)

    @property
    def sustained_flops(self) -> float:
        """FLOP/s the whole cluster delivers: count x peak x MFU."""
        return self.count * self.peak_flops * self.mfu

    def compute(self, days) -> np.ndarray | float:
        """FLOPs in ``days`` of training: count x days x 86400 x MFU x peak."""
        days = np.asarray(days, float)
        if np.any(~np.isfinite(days) | (days <= 0)):
            raise DataError(f"`days` must be a positive number; got {days.tolist()!r}")
        out = self.sustained_flops * SECONDS_PER_DAY * days
        return float(out) if out.ndim == 0 else out

    def accelerator_hours(self, compute):
        return _scalar(np.asarray(compute, float) / (self.peak_flops * self.mfu * 3600.0))

    def days(self, compute):
        """Wall-clock days for ``compute`` FLOPs on the whole cluster."""
        return _scalar(np.asarray(compute, float) / (self.sustained_flops * SECONDS_PER_DAY))

    def cost(self, compute):
        """Price of ``compute`` FLOPs (accelerator-hours x price); NaN without a price."""
        if self.price_per_hour is None:
            return _scalar(np.full(np.shape(compute), math.nan))
        return _scalar(np.asarray(self.accelerator_hours(compute)) * self.price_per_hour)

    def to_dict(self) -> dict:
        return {"accelerator": self.name, "peak_flops": self.peak_flops, "count": int(self.count),
                "mfu": self.mfu, "price_per_hour": self.price_per_hour}


def _scalar(a):
    a = np.asarray(a, float)
    return float(a) if a.ndim == 0 else a


def _positive(name: str, value, what: str = "") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise DataError(f"`{name}` must be a positive number{f' ({what})' if what else ''}; got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise DataError(f"`{name}` must be a positive number{f' ({what})' if what else ''}; got {value!r}")
    return v
