"""One decoder configuration: a frozen, hashable value that says how maps become points.

:class:`DecoderConfig` is the single home of *which options a decoder takes* and of their
defaults. Every layer (``decode``, ``predict``, evaluation, sweeps, error analysis, the
CLI and the app) passes a config instead of loose keyword arguments, so the same
configuration gives the same numbers everywhere and can be written to JSON, compared,
and used as a cache key.

Options a decoder does not read are dropped when the config is built, so two configs
that decode identically are equal (``DecoderConfig("standard", delta=3) ==
DecoderConfig("standard")``). Defaults that depend on the data are *resolved* once with
:meth:`DecoderConfig.resolved`: DAEC's σ (the dataset's training σ, heatmap px) and Δ =
``int(σ + 2)`` (the paper's optimum without smoothing); DARK's blur kernel
(:data:`DEFAULT_BLUR_KERNEL`).

Besides the paper's four decoders (:data:`METHODS`, the ones the app and the sweeps
compare) the config knows four decoders used in the field (:data:`FIELD_METHODS`:
mmpose's DARK-UDP refinement, the three-point Gaussian peak fit and the soft-argmax /
integral regression with and without Gu et al.'s bias compensation);
:data:`ALL_METHODS` is both. The integral decoders read the softmax sharpness ``beta``
(:data:`DEFAULT_BETA`), ``dark_udp`` the blur kernel (:data:`DEFAULT_BLUR_KERNEL`).

Examples
--------
>>> import numpy as np
>>> cfg = DecoderConfig("daec", delta=np.float32(3), pattern="UR")
>>> cfg.delta, cfg.sigma
((3.0, 3.0), None)
>>> r = cfg.resolved(sigma=2.0)
>>> r.sigma, r.delta, r.to_dict()["delta"]
(2.0, (3.0, 3.0), 3.0)
>>> DecoderConfig.from_dict(r.to_dict()) == r
True
>>> DecoderConfig("daec").resolved(sigma=1.45).delta
(3.0, 3.0)
>>> DecoderConfig("dark").resolved().blur_kernel
11
>>> DecoderConfig("standard", delta=3, pattern="UL") == DecoderConfig("standard")
True
>>> DecoderConfig("integral_debiased").resolved().to_dict()
{'method': 'integral_debiased', 'beta': 10.0}
>>> DecoderConfig("dark_udp", blur_kernel=1).label
'dark_udp (raw map)'
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from daec_viz.exceptions import InputError

#: The paper's four decoders: the ones the app, the sweeps and the error analysis compare.
METHODS: tuple[str, ...] = ("standard", "shifting", "dark", "daec")
#: Decoders from the field (mmpose, classic peak fitting, integral regression), decoded
#: exactly like the paper's but not part of the paper's comparisons.
FIELD_METHODS: tuple[str, ...] = ("dark_udp", "gauss3", "integral", "integral_debiased")
#: Every decoder :func:`daec_viz.decoding.decode` accepts.
ALL_METHODS: tuple[str, ...] = METHODS + FIELD_METHODS
PATTERNS: tuple[str, ...] = ("BR", "UR", "BL", "UL")
SHIFTING_VARIANTS: tuple[str, ...] = ("sign", "second_max")
#: The Gaussian kernel DARK blurs with (DarkPose's 11) and the kernel of every "smoothing"
#: control (the sweep's "+smooth" curves, the app's smoothing switch).
DEFAULT_BLUR_KERNEL = 11
#: Softmax sharpness β of the integral decoders: mmpose's Debias-IPR setting (``beta=10.``
#: in ``ipr_res50_debias-8xb64-210e_coco-256x256.py``, Gu et al.'s). On a unit-amplitude
#: σ = 2 peak the softmax then has an effective σ of 2/√10 ≈ 0.6 px, and the peak's mass
#: outweighs the exp(0) = 1 of every background pixel of a 64x48 map about 20 to 1 (mmpose's
#: head default, β = 1, suits learnt logits, not heatmaps with maxima near 1: there the
#: background outweighs the peak 90 to 1). See :mod:`daec_viz.decoding.integral`.
DEFAULT_BETA = 10.0
#: σ assumed when nothing else says it (the paper's 256x192 setting).
DEFAULT_SIGMA = 2.0
#: Largest |Δ| accepted (heatmap px): far beyond any map, small enough for integer maths.
MAX_ABS_DELTA = 1.0e4

#: The options each decoder reads (besides ``method``); every other option is dropped.
OPTIONS: dict[str, tuple[str, ...]] = {
    "standard": ("blur_kernel",),
    "shifting": ("blur_kernel", "variant"),
    "dark": ("blur_kernel",),
    "daec": ("sigma", "delta", "pattern", "blur_kernel"),
    "dark_udp": ("blur_kernel",),
    "gauss3": (),
    "integral": ("beta",),
    "integral_debiased": ("beta",),
}
_FIELDS = ("method", "sigma", "delta", "pattern", "blur_kernel", "variant", "beta")
# Decoders whose blur is part of the method (kernel 1 = their step on the raw map); for
# every other decoder a blur kernel means "blur the maps first".
_OWN_BLUR = ("dark", "dark_udp")


def blurs_itself(method: str) -> bool:
    """True for a decoder whose blur is part of the method as published (DARK, DARK-UDP:
    their config resolves to a kernel > 1); its kernel-1 variant is the raw-map ablation.

    >>> [m for m in ALL_METHODS if blurs_itself(m)]
    ['dark', 'dark_udp']
    """
    return method in _OWN_BLUR


def can_smooth(method: str) -> bool:
    """True for a decoder that reads a blur kernel (a "+smooth" or raw-map variant);
    gauss3 and the integral decoders have none.

    >>> [m for m in ALL_METHODS if not can_smooth(m)]
    ['gauss3', 'integral', 'integral_debiased']
    """
    return "blur_kernel" in OPTIONS[method]


def default_delta(sigma: float) -> int:
    """The paper's empirical optimum without smoothing, ``Δ = int(σ + 2)`` (heatmap px)."""
    return int(sigma + 2.0)


def _real(value: Any, name: str) -> float:
    """A finite real number (Python or numpy scalar, not bool) as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"expected a number, got {value!r}", field=name)
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"expected a finite number, got {value!r}", field=name)
    return v


def _delta_pair(delta: Any) -> tuple[float, float]:
    if isinstance(delta, (str, bytes)):
        raise InputError(f"expected a number or a pair (dx, dy), got {delta!r}", field="delta")
    if isinstance(delta, Sequence) or getattr(delta, "ndim", 0) == 1:
        vals = list(delta)
        if len(vals) != 2:
            raise InputError(f"expected a number or a pair (dx, dy), got {delta!r}",
                             field="delta")
        pair = (_real(vals[0], "delta"), _real(vals[1], "delta"))
    else:
        d = _real(getattr(delta, "item", lambda: delta)(), "delta")
        pair = (d, d)
    if max(abs(pair[0]), abs(pair[1])) > MAX_ABS_DELTA:
        raise InputError(f"expected |Δ| <= {MAX_ABS_DELTA:g} heatmap px, got {delta!r}",
                         field="delta")
    return pair


def _kernel(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not float(value).is_integer() or value < 1 or int(value) % 2 == 0:
        raise InputError(f"expected a positive odd integer, got {value!r}",
                         field="blur_kernel")
    if value > 999:
        raise InputError(f"expected a kernel of at most 999 px, got {value!r}",
                         field="blur_kernel")
    return int(value)


@dataclass(frozen=True)
class DecoderConfig:
    """How heatmaps are decoded: a decoder and the options it reads.

    Attributes
    ----------
    method : one of :data:`ALL_METHODS` (the paper's :data:`METHODS` and the field's
        :data:`FIELD_METHODS`).
    sigma : ``daec``: the training Gaussian's σ in heatmap px (window half-width
        ``int(3σ + 1)``); None = resolve from the dataset (or :data:`DEFAULT_SIGMA`).
    delta : ``daec``: the cut (Δx, Δy) in heatmap px, fractional and negative allowed
        (a single number means Δx = Δy); None = resolve to ``int(σ + 2)``.
    pattern : ``daec``: the cut corner, one of :data:`PATTERNS`.
    blur_kernel : odd OpenCV Gaussian kernel. ``dark`` and ``dark_udp`` always blur (None
        resolves to :data:`DEFAULT_BLUR_KERNEL`; 1 = their Taylor step on the raw map); for
        ``standard``, ``shifting`` and ``daec`` the maps are blurred first when it is set
        (> 1).
    variant : ``shifting``: ``"sign"`` (quarter pixel toward the higher neighbour on each
        axis, HRNet) or ``"second_max"`` (toward the second-highest pixel).
    beta : ``integral`` and ``integral_debiased``: the softmax sharpness β (per unit of
        heatmap value, finite, > 0); None = resolve to :data:`DEFAULT_BETA`.

    Options the method does not read are set to None when the config is built.
    Numbers may be numpy scalars; they are stored as Python floats/ints.
    """

    method: str = "standard"
    sigma: float | None = None
    delta: tuple[float, float] | None = None
    pattern: str | None = "BR"
    blur_kernel: int | None = None
    variant: str | None = "sign"
    beta: float | None = None

    def __post_init__(self) -> None:
        if self.method not in ALL_METHODS:
            raise InputError(f"expected one of {ALL_METHODS}, got {self.method!r}",
                             field="method")
        keep = OPTIONS[self.method]
        set_ = object.__setattr__
        for name in _FIELDS[1:]:
            if name not in keep:
                set_(self, name, None)
        if self.sigma is not None:
            s = _real(self.sigma, "sigma")
            if s <= 0 or s > MAX_ABS_DELTA:
                raise InputError(f"expected a positive number <= {MAX_ABS_DELTA:g} "
                                 f"(heatmap px), got {self.sigma!r}", field="sigma")
            set_(self, "sigma", s)
        if self.delta is not None:
            set_(self, "delta", _delta_pair(self.delta))
        if "pattern" in keep:
            if self.pattern is None:
                set_(self, "pattern", "BR")
            if self.pattern not in PATTERNS:
                raise InputError(f"expected one of {PATTERNS}, got {self.pattern!r}",
                                 field="pattern")
        if "variant" in keep:
            if self.variant is None:
                set_(self, "variant", "sign")
            if self.variant not in SHIFTING_VARIANTS:
                raise InputError(f"expected one of {SHIFTING_VARIANTS}, got "
                                 f"{self.variant!r}", field="variant")
        if self.blur_kernel is not None:
            k = _kernel(self.blur_kernel)
            # a 1-px kernel is no blur: for every decoder but the DARKs that is "not set"
            set_(self, "blur_kernel", None if (k == 1 and self.method not in _OWN_BLUR)
                 else k)
        if self.beta is not None:
            b = _real(self.beta, "beta")
            if b <= 0:
                raise InputError(f"expected a positive number, got {self.beta!r}",
                                 field="beta")
            set_(self, "beta", b)

    # ------------------------------------------------------------------ building

    @classmethod
    def of(cls, config: DecoderConfig | str | None = None, /, **options: Any) -> DecoderConfig:
        """A config from a config, a method name, or ``method=...`` plus options.

        ``DecoderConfig.of(cfg)`` is ``cfg``; ``DecoderConfig.of(cfg, delta=3)`` replaces
        options; ``DecoderConfig.of("daec", delta=3)`` builds one. Unknown option names
        are refused (a typo must not silently fall back to a default).
        """
        unknown = sorted(set(options) - set(_FIELDS))
        if unknown:
            raise InputError(f"unknown decoder option(s) {unknown}; expected some of "
                             f"{list(_FIELDS)}", field="options")
        if isinstance(config, DecoderConfig):
            return config.replace(**options) if options else config
        if config is not None:
            if "method" in options:
                raise InputError("give the method once", field="method")
            options["method"] = config
        return cls(**options)

    def replace(self, **changes: Any) -> DecoderConfig:
        """A copy with some options changed (re-validated)."""
        return dataclasses.replace(self, **changes)

    def resolved(self, sigma: float | None = None) -> DecoderConfig:
        """Every data-dependent default filled in.

        ``sigma`` is the dataset's training σ (heatmap px), used for DAEC when the config
        has none (:data:`DEFAULT_SIGMA` when neither says); Δ defaults to ``int(σ + 2)``;
        DARK's and DARK-UDP's kernel to :data:`DEFAULT_BLUR_KERNEL`; the integral
        decoders' β to :data:`DEFAULT_BETA`.
        """
        changes: dict[str, Any] = {}
        if self.method == "daec":
            s = self.sigma if self.sigma is not None else (
                DEFAULT_SIGMA if sigma is None else _real(sigma, "sigma"))
            changes["sigma"] = s
            if self.delta is None:
                changes["delta"] = float(default_delta(s))
        if self.method in _OWN_BLUR and self.blur_kernel is None:
            changes["blur_kernel"] = DEFAULT_BLUR_KERNEL
        if "beta" in OPTIONS[self.method] and self.beta is None:
            changes["beta"] = DEFAULT_BETA
        return self.replace(**changes) if changes else self

    @property
    def is_resolved(self) -> bool:
        """True when nothing is left to resolve from the data."""
        if self.method == "daec":
            return self.sigma is not None and self.delta is not None
        if "beta" in OPTIONS[self.method]:
            return self.beta is not None
        return self.method not in _OWN_BLUR or self.blur_kernel is not None

    # ------------------------------------------------------------------ reading

    @property
    def smooth(self) -> bool:
        """The maps are blurred before decoding (for DARK and DARK-UDP: their own blur,
        kernel > 1)."""
        return self.blur_kernel is not None and self.blur_kernel > 1

    def options(self) -> dict[str, Any]:
        """The options this decoder reads, as keyword arguments (None values omitted)."""
        return {k: getattr(self, k) for k in OPTIONS[self.method]
                if getattr(self, k) is not None}

    @property
    def label(self) -> str:
        """Short human label, e.g. ``daec BR Δ=4 +smooth``, ``dark (raw map)`` or
        ``integral β=10`` (an unresolved β shows its default)."""
        s = " +smooth" if self.smooth and self.method not in _OWN_BLUR else ""
        if self.method == "daec":
            d = "Δ=?" if self.delta is None else (
                f"Δ={self.delta[0]:g}" if self.delta[0] == self.delta[1]
                else f"Δ=({self.delta[0]:g}, {self.delta[1]:g})")
            return f"daec {self.pattern} {d}{s}"
        if self.method in _OWN_BLUR and self.blur_kernel == 1:
            return f"{self.method} (raw map)"
        if "beta" in OPTIONS[self.method]:
            return f"{self.method} β={DEFAULT_BETA if self.beta is None else self.beta:g}"
        if self.method == "shifting" and self.variant != "sign":
            return f"shifting ({self.variant}){s}"
        return f"{self.method}{s}"

    # ------------------------------------------------------------------ JSON

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the method and the options it reads (Δ as one number
        when Δx = Δy, else ``[Δx, Δy]``)."""
        out: dict[str, Any] = {"method": self.method}
        for k in OPTIONS[self.method]:
            v = getattr(self, k)
            if k == "delta" and v is not None:
                v = v[0] if v[0] == v[1] else [v[0], v[1]]
            out[k] = v
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DecoderConfig:
        """The inverse of :meth:`to_dict` (unknown keys are refused)."""
        if not isinstance(data, Mapping):
            raise InputError(f"expected a JSON object, got {type(data).__name__}",
                             field="config")
        return cls.of(**dict(data))

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): equal configs give equal strings (a cache key)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DecoderConfig:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise InputError(f"expected a JSON object: {e}", field="config") from None
        return cls.from_dict(data)


ConfigLike = DecoderConfig | str

__all__ = ["DecoderConfig", "METHODS", "FIELD_METHODS", "ALL_METHODS", "DEFAULT_BETA",
           "PATTERNS", "SHIFTING_VARIANTS", "OPTIONS",
           "DEFAULT_BLUR_KERNEL", "DEFAULT_SIGMA", "MAX_ABS_DELTA", "default_delta",
           "ConfigLike"]
