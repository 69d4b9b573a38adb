"""DecoderConfig: one value for a decoder and its options (daec_viz.decoding.config)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daec_viz.decoding import ALL_METHODS, METHODS, PATTERNS, DecoderConfig, decode
from daec_viz.decoding.config import DEFAULT_BLUR_KERNEL, OPTIONS, default_delta
from daec_viz.exceptions import InputError


def _gaussians(n: int = 3, k: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:24]
    mu = rng.uniform(6, 18, size=(n, k, 2))
    hm = np.exp(-((xx - mu[..., 0, None, None]) ** 2 + (yy - mu[..., 1, None, None]) ** 2)
                / (2 * 2.0 ** 2))
    return (hm + 0.01 * rng.random(hm.shape)).astype(np.float32)


def test_numpy_scalars_are_accepted_and_stored_as_python_numbers():
    cfg = DecoderConfig("daec", sigma=np.float32(2), delta=np.int64(3), blur_kernel=np.int32(5))
    assert cfg.sigma == 2.0 and type(cfg.sigma) is float
    assert cfg.delta == (3.0, 3.0) and all(type(v) is float for v in cfg.delta)
    assert cfg.blur_kernel == 5 and type(cfg.blur_kernel) is int
    # decode accepted np.float32 σ before? it must now (the report)
    r = decode(_gaussians(), "daec", sigma=np.float32(2), delta=np.float64(4))
    assert r.config.sigma == 2.0


def test_options_a_decoder_does_not_read_are_dropped():
    assert DecoderConfig("standard", delta=3, pattern="UL", sigma=1) == DecoderConfig("standard")
    assert hash(DecoderConfig("dark", variant="second_max")) == hash(DecoderConfig("dark"))
    assert DecoderConfig("shifting", blur_kernel=1) == DecoderConfig("shifting")  # 1 = no blur
    assert DecoderConfig("dark", blur_kernel=1).blur_kernel == 1  # DARK's raw-map variant
    for m in METHODS:
        assert set(DecoderConfig(m).options()) <= set(OPTIONS[m])


@pytest.mark.parametrize("sigma", [1.0, 1.45, 2.0, 3.0])
def test_defaults_resolve_once_from_the_dataset_sigma(sigma):
    r = DecoderConfig("daec").resolved(sigma=sigma)
    assert r.sigma == sigma and r.delta == (float(int(sigma + 2)),) * 2
    assert r.delta[0] == default_delta(sigma)
    assert DecoderConfig("daec", sigma=3.0).resolved(sigma=sigma).sigma == 3.0  # explicit wins
    assert DecoderConfig("dark").resolved().blur_kernel == DEFAULT_BLUR_KERNEL
    assert r.is_resolved and not DecoderConfig("daec").is_resolved


@pytest.mark.parametrize("kwargs,field", [
    ({"method": "argmax"}, "method"),
    ({"method": "daec", "sigma": 0}, "sigma"),
    ({"method": "daec", "sigma": float("inf")}, "sigma"),
    ({"method": "daec", "sigma": "2"}, "sigma"),
    ({"method": "daec", "delta": float("nan")}, "delta"),
    ({"method": "daec", "delta": 1e300}, "delta"),
    ({"method": "daec", "delta": (1, 2, 3)}, "delta"),
    ({"method": "daec", "delta": "4"}, "delta"),
    ({"method": "daec", "pattern": "XX"}, "pattern"),
    ({"method": "dark", "blur_kernel": 4}, "blur_kernel"),
    ({"method": "dark", "blur_kernel": True}, "blur_kernel"),
    ({"method": "shifting", "variant": "third"}, "variant"),
])
def test_bad_options_name_their_field(kwargs, field):
    with pytest.raises(InputError) as exc:
        DecoderConfig(**kwargs)
    assert exc.value.field == field


def test_unknown_option_names_are_refused():
    with pytest.raises(InputError, match="unknown decoder option"):
        DecoderConfig.of("daec", detla=3)
    with pytest.raises(InputError, match="unknown decoder option"):
        decode(_gaussians(), "daec", detla=3)


configs = st.builds(
    DecoderConfig,
    method=st.sampled_from(ALL_METHODS),
    sigma=st.one_of(st.none(), st.floats(0.5, 5.0)),
    delta=st.one_of(st.none(), st.floats(-3, 10), st.tuples(st.floats(-3, 10),
                                                            st.floats(-3, 10))),
    pattern=st.sampled_from(PATTERNS),
    blur_kernel=st.one_of(st.none(), st.sampled_from([1, 3, 5, 11])),
    variant=st.sampled_from(("sign", "second_max")),
    beta=st.one_of(st.none(), st.floats(0.1, 50.0)),
)


@settings(max_examples=200, deadline=None)
@given(configs)
def test_json_round_trip_and_canonical_key(cfg):
    assert DecoderConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert DecoderConfig.from_json(cfg.to_json()) == cfg
    # equal configs, equal keys: rebuilt from their options they are the same value
    again = DecoderConfig.of(cfg.method, **cfg.options())
    assert again == cfg and again.to_json() == cfg.to_json() and hash(again) == hash(cfg)


@settings(max_examples=40, deadline=None)
@given(configs, st.integers(0, 10))
def test_decode_with_a_config_equals_decode_with_keywords(cfg, seed):
    hm = _gaussians(seed=seed)
    a = decode(hm, cfg)
    b = decode(hm, method=cfg.method, **cfg.options())
    c = decode(hm, cfg.method, **cfg.options())
    np.testing.assert_array_equal(a.coords, b.coords)
    np.testing.assert_array_equal(a.coords, c.coords)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.config == b.config == cfg.resolved()


def test_label():
    assert DecoderConfig("daec", delta=(1, 2), pattern="UL").label == "daec UL Δ=(1, 2)"
    assert DecoderConfig("standard", blur_kernel=11).label == "standard +smooth"
    assert DecoderConfig("dark", blur_kernel=1).label == "dark (raw map)"
