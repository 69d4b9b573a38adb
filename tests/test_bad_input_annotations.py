"""Bad input, annotations: every malformed ``annotations.json`` (or GT file) ends in one
line naming the file, the field and what was expected; inputs are never modified."""

from __future__ import annotations

import copy
import json
import shutil

import pytest
from bad_input_support import deny_reads, expect_error, no_dac_prefix, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synthetic import make_dataset

from daec_viz.exceptions import DatasetError
from daec_viz.io import annotations as ann_mod
from daec_viz.io.annotations import load_annotations, validate_coco_keypoints


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("ann") / "good", n_images=4, size=(20, 50))


@pytest.fixture(scope="module")
def good_json(good):
    return json.loads((good / "annotations.json").read_text())


def _folder_with(good, tmp_path, text: str | bytes):
    folder = tmp_path / "ds"
    shutil.copytree(good, folder)
    target = folder / "annotations.json"
    target.write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder


def _set(path, value):
    def f(d):
        obj = d
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value
    return f


def _del(path):
    def f(d):
        obj = d
        for key in path[:-1]:
            obj = obj[key]
        del obj[path[-1]]
    return f


# (case id, mutation of the parsed json, field the message must name)
MUTATIONS = [
    ("no-images", _del(["images"]), "images"),
    ("images-not-list", _set(["images"], {"a": 1}), "images"),
    ("no-annotations", _del(["annotations"]), "annotations"),
    ("annotations-null", _set(["annotations"], None), "annotations"),
    ("no-categories", _del(["categories"]), "categories"),
    ("two-keypoint-categories",
     lambda d: d["categories"].append({**d["categories"][0], "id": 2}), "categories"),
    ("no-keypoint-category", lambda d: d["categories"][0].pop("keypoints"), "categories"),
    ("category-without-id", _del(["categories", 0, "id"]), "categories.id"),
    ("joint-names-repeat", lambda d: d["categories"][0]["keypoints"].__setitem__(1, "nose"),
     "categories.keypoints"),
    ("joint-name-number", lambda d: d["categories"][0]["keypoints"].__setitem__(1, 7),
     "categories.keypoints"),
    ("sigmas-wrong-length", _set(["categories", 0, "sigmas"], [0.1] * 5),
     "categories.sigmas"),
    ("sigmas-negative", _set(["categories", 0, "sigmas"], [-0.1] * 17), "categories.sigmas"),
    ("sigmas-strings", _set(["categories", 0, "sigmas"], ["a"] * 17), "categories.sigmas"),
    ("skeleton-out-of-range", _set(["categories", 0, "skeleton"], [[1, 99]]),
     "categories.skeleton"),
    ("skeleton-not-pairs", _set(["categories", 0, "skeleton"], [[1, 2, 3]]),
     "categories.skeleton"),
    ("image-without-id", _del(["images", 0, "id"]), "images.id"),
    ("image-not-object", _set(["images", 0], 17), "images.id"),
    ("image-ids-repeat", lambda d: d["images"][1].__setitem__("id", d["images"][0]["id"]),
     "images.id"),
    ("annotation-without-id", _del(["annotations", 0, "id"]), "annotations"),
    ("annotation-ids-repeat",
     lambda d: d["annotations"][1].__setitem__("id", d["annotations"][0]["id"]),
     "annotations.id"),
    ("annotation-unknown-image", _set(["annotations", 0, "image_id"], 999999),
     "annotations.image_id"),
    ("keypoints-strings", lambda d: d["annotations"][0].__setitem__(
        "keypoints", [str(v) for v in d["annotations"][0]["keypoints"]]),
     "annotations.keypoints"),
    ("keypoints-too-short", lambda d: d["annotations"][0]["keypoints"].pop(),
     "annotations.keypoints"),
    ("keypoints-too-long", lambda d: d["annotations"][0]["keypoints"].append(0),
     "annotations.keypoints"),
    ("keypoints-null", _set(["annotations", 0, "keypoints"], None), "annotations.keypoints"),
    ("keypoints-nested", lambda d: d["annotations"][0].__setitem__(
        "keypoints", [d["annotations"][0]["keypoints"][:3]] * 17), "annotations.keypoints"),
    ("keypoints-bool", lambda d: d["annotations"][0]["keypoints"].__setitem__(0, True),
     "annotations.keypoints"),
    ("bbox-three-numbers", _set(["annotations", 0, "bbox"], [1, 2, 3]), "annotations.bbox"),
    ("bbox-strings", _set(["annotations", 0, "bbox"], ["1", "2", "3", "4"]),
     "annotations.bbox"),
    ("area-string", _set(["annotations", 0, "area"], "big"), "annotations.area"),
    ("area-missing", _del(["annotations", 0, "area"]), "annotations.area"),
    ("iscrowd-2", _set(["annotations", 0, "iscrowd"], 2), "annotations.iscrowd"),
    ("iscrowd-string", _set(["annotations", 0, "iscrowd"], "no"), "annotations.iscrowd"),
    ("num-keypoints-negative", _set(["annotations", 0, "num_keypoints"], -1),
     "annotations.num_keypoints"),
    ("num-keypoints-float", _set(["annotations", 0, "num_keypoints"], 3.5),
     "annotations.num_keypoints"),
    ("num-keypoints-too-many", _set(["annotations", 0, "num_keypoints"], 18),
     "annotations.num_keypoints"),
]


@pytest.mark.parametrize("mutate, field", [m[1:] for m in MUTATIONS],
                         ids=[m[0] for m in MUTATIONS])
def test_malformed_annotations(good, good_json, tmp_path, mutate, field):
    d = copy.deepcopy(good_json)
    mutate(d)
    folder = _folder_with(good, tmp_path, json.dumps(d))
    run_cli(["info", folder], inputs=(folder,),
            mentions=(str(folder / "annotations.json"), f"field `{field}`"))


# non-finite numbers in the JSON text itself (Python's json parses NaN/Infinity literals)
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_keypoint_literals(good, good_json, tmp_path, literal):
    d = copy.deepcopy(good_json)
    d["annotations"][0]["keypoints"][0] = "@@"
    text = json.dumps(d).replace('"@@"', literal)
    folder = _folder_with(good, tmp_path, text)
    run_cli(["info", folder], inputs=(folder,),
            mentions=("annotations.json", "field `annotations.keypoints`", "numbers"))


RAW = [
    ("empty-file", b"", "not valid JSON"),
    ("not-json", b"images: []", "not valid JSON"),
    ("truncated", None, "not valid JSON"),
    ("latin-1", '{"info": "caf\xe9"}'.encode("latin-1"), "not valid JSON"),
    ("binary", bytes(range(256)), "not valid JSON"),
    ("top-level-list", b"[]", "expected a JSON object"),
    ("top-level-string", b'"annotations"', "expected a JSON object"),
    ("deeply-nested", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ("deeply-nested-objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested too deeply"),
]


@pytest.mark.parametrize("raw, expected", [r[1:] for r in RAW], ids=[r[0] for r in RAW])
def test_unparseable_annotations(good, tmp_path, raw, expected):
    if raw is None:
        raw = (good / "annotations.json").read_bytes()[:500]
    folder = _folder_with(good, tmp_path, raw)
    run_cli(["info", folder], inputs=(folder,),
            mentions=(str(folder / "annotations.json"), expected))


def test_huge_annotations_refused_before_parsing(good, tmp_path, monkeypatch):
    folder = _folder_with(good, tmp_path, (good / "annotations.json").read_bytes())
    monkeypatch.setattr(ann_mod, "MAX_JSON_BYTES", 1000)  # the file is ~8 kB
    run_cli(["info", folder], inputs=(folder,),
            mentions=("annotations.json", "at most 0 MiB"))


def test_annotations_is_a_folder(good, tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(good, folder)
    (folder / "annotations.json").unlink()
    (folder / "annotations.json").mkdir()
    run_cli(["info", folder], inputs=(folder,), mentions=("annotations.json", "is a folder"))


def test_annotations_missing(good, tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(good, folder)
    (folder / "annotations.json").unlink()
    run_cli(["info", folder], inputs=(folder,), mentions=("annotations.json", "not found"))


def test_annotations_dangling_symlink(good, tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(good, folder)
    (folder / "annotations.json").unlink()
    (folder / "annotations.json").symlink_to(tmp_path / "gone.json")
    run_cli(["info", folder], inputs=(folder,), mentions=("annotations.json", "not found"))


def test_annotations_unreadable_emulated(good, tmp_path):
    folder = tmp_path / "ds"
    shutil.copytree(good, folder)
    with deny_reads(folder / "annotations.json"):
        expect_error(load_annotations, folder / "annotations.json", exc=DatasetError,
                     mentions=("annotations.json", "Permission denied", "expected"))


def _linked_into_secret(good, tmp_path):
    """A dataset copy whose annotations.json links into the folder ``secret``."""
    secret = tmp_path / "secret"
    secret.mkdir()
    shutil.copy(good / "annotations.json", secret / "a.json")
    folder = tmp_path / "ds"
    shutil.copytree(good, folder)
    (folder / "annotations.json").unlink()
    (folder / "annotations.json").symlink_to(secret / "a.json")
    return folder, secret


def test_annotations_symlink_into_unreadable_folder_emulated(good, tmp_path):
    folder, secret = _linked_into_secret(good, tmp_path)
    with deny_reads(secret):
        expect_error(load_annotations, folder / "annotations.json", exc=DatasetError,
                     mentions=("annotations.json", "Permission denied"))


def test_annotations_symlink_into_unreadable_folder_real(good, tmp_path):
    """A real permission check (root without DAC capabilities, or a normal user)."""
    from bad_input_support import chmod_000
    prefix = no_dac_prefix()
    folder, secret = _linked_into_secret(good, tmp_path)
    with chmod_000(secret):
        run_cli(["info", folder], inputs=(folder,), prefix=prefix, timeout=300,
                mentions=("annotations.json", "Permission denied"))


# ---------------------------------------------------------------- fuzzing the validator

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=True)
    | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "image_id", "category_id", "keypoints", "bbox", "area",
                         "iscrowd", "num_keypoints", "sigmas", "skeleton", "images",
                         "annotations", "categories"]), inner, max_size=5),
    max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_json)
def test_validator_fuzz_only_raises_dataset_error(data):
    """Any JSON value: the validator accepts it or raises DatasetError, nothing else."""
    try:
        validate_coco_keypoints(data, None)
    except DatasetError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["keypoints", "bbox", "area", "iscrowd", "num_keypoints",
                              "image_id", "id"]), value=_json)
def test_validator_fuzz_one_annotation_field(good_json, field, value):
    """A good file with one field of one annotation replaced by anything."""
    d = copy.deepcopy(good_json)
    d["annotations"][0][field] = value
    try:
        validate_coco_keypoints(d, None)
    except DatasetError as exc:
        assert "annotations" in str(exc)
