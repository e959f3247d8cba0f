"""Scenario model: exact round trips, stable hashes, every bad input named, immutability (real scenarios)."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle

import numpy as np
import pytest

from a2gym import load_scenario
from a2gym.errors import ScenarioError
from a2gym.scenario import Scenario
from a2gym.scenario.uri import _manifest

DEFAULT = "scenario://paper-default-v0"


@pytest.fixture(scope="module")
def scn() -> Scenario:
    return load_scenario(DEFAULT, check_feasible=False)


@pytest.fixture()
def content(scn: Scenario) -> dict:
    return copy.deepcopy(scn.to_dict())


def _same_arrays(a: Scenario, b: Scenario) -> None:
    for f in dataclasses.fields(Scenario):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, f.name
            assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name
        elif f.name != "uri":
            assert x == y, f.name


def test_save_load_round_trip_is_exact(scn: Scenario, tmp_path) -> None:
    path = scn.save(tmp_path / "s.json")
    back = Scenario.load(path)
    _same_arrays(scn, back)
    assert back.sha256 == scn.sha256 == _manifest()["paper-default-v0"]
    again = back.save(tmp_path / "t.json")
    assert again.read_bytes() == path.read_bytes()


def test_export_import_same_sha(scn: Scenario) -> None:
    back = Scenario.from_dict(json.loads(json.dumps(scn.to_dict())))
    assert back.sha256 == scn.sha256
    assert back == scn
    assert pickle.loads(pickle.dumps(scn)).sha256 == scn.sha256


def test_sha_changes_with_content(scn: Scenario) -> None:
    other = scn.replace(class_rate=scn.class_rate * 1.0000001)
    assert other.sha256 != scn.sha256


@pytest.mark.parametrize(
    ("field", "mutate"),
    [
        ("rtt_ms", lambda c: c.pop("rtt_ms")),
        ("assumptions", lambda c: c.pop("assumptions")),
        ("rtt_ms", lambda c: c.__setitem__("rtt_ms", c["rtt_ms"][:-1])),
        ("accuracy", lambda c: c.__setitem__("accuracy", [row[:-1] for row in c["accuracy"]])),
        ("service_time_ms", lambda c: c.__setitem__("service_time_ms", c["service_time_ms"][1:])),
        ("price_per_hour", lambda c: c["price_per_hour"][0].__setitem__(0, -0.5)),
        ("egress_per_gb", lambda c: c["egress_per_gb"][0].__setitem__(1, None)),
        ("egress_per_gb", lambda c: c["egress_per_gb"][2].__setitem__(2, 0.02)),
        ("class_origin", lambda c: c["class_origin"].__setitem__(3, "mars-north-1")),
        ("accuracy", lambda c: c["accuracy"][1].__setitem__(2, 1.2)),
        ("class_accuracy_floor", lambda c: c["class_accuracy_floor"].__setitem__(0, -0.1)),
        ("class_rate", lambda c: c["class_rate"].__setitem__(0, "fast")),
        ("bandwidth_gbps", lambda c: c["bandwidth_gbps"][0].__setitem__(1, 0.0)),
        ("regions", lambda c: c["regions"].__setitem__(1, c["regions"][0])),
        ("target_utilisation", lambda c: c.__setitem__("target_utilisation", 1.5)),
        ("deployment_home_region", lambda c: c.__setitem__("deployment_home_region", "nowhere-1")),
        ("bogus_field", lambda c: c.__setitem__("bogus_field", 1)),
    ],
)
def test_bad_content_names_the_field(content: dict, field: str, mutate) -> None:
    mutate(content)
    with pytest.raises(ScenarioError, match=field):
        Scenario.from_dict(content)


def test_nan_price_allowed_but_not_everywhere(scn: Scenario) -> None:
    price = scn.price_per_hour.copy()
    price[0, 0] = np.nan
    assert np.isnan(scn.replace(price_per_hour=price).price_per_hour[0, 0])
    with pytest.raises(ScenarioError, match="price_per_hour"):
        scn.replace(price_per_hour=np.full_like(price, np.nan))


def test_keyword_constructor_validates(scn: Scenario) -> None:
    with pytest.raises(ScenarioError, match="price_per_hour"):
        scn.replace(price_per_hour=-scn.price_per_hour)
    with pytest.raises(ScenarioError, match="class_origin"):
        scn.replace(class_origin=np.full(scn.n_classes, scn.n_regions))


def test_tampered_file_is_rejected(scn: Scenario, tmp_path) -> None:
    path = scn.save(tmp_path / "s.json")
    doc = json.loads(path.read_text())
    doc["content"]["class_rate"][0] *= 2
    path.write_text(json.dumps(doc))
    with pytest.raises(ScenarioError, match="sha256"):
        Scenario.load(path)


def test_bad_files(tmp_path) -> None:
    p = tmp_path / "x.json"
    with pytest.raises(ScenarioError, match="not found"):
        Scenario.load(p)
    p.write_text("{not json")
    with pytest.raises(ScenarioError, match="JSON"):
        Scenario.load(p)
    p.write_text(json.dumps({"format": "other"}))
    with pytest.raises(ScenarioError, match="format"):
        Scenario.load(p)
    with pytest.raises(ScenarioError, match="unknown scenario"):
        load_scenario("scenario://no-such-scenario", check_feasible=False)


def test_arrays_and_fields_are_frozen(scn: Scenario) -> None:
    with pytest.raises(ValueError):
        scn.rtt_ms[0, 0] = 5.0
    with pytest.raises(ValueError):
        scn.class_rate[:] = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        scn.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        scn.assumptions["new"] = "value"  # type: ignore[index]


def test_caller_arrays_are_copied(scn: Scenario) -> None:
    rate = scn.class_rate.copy()
    other = scn.replace(class_rate=rate)
    rate[0] = 1e9
    assert other.class_rate[0] == scn.class_rate[0]


def test_facility_index_round_trip(scn: Scenario) -> None:
    i = np.arange(scn.n_facilities)
    k, m, h = scn.facility_parts(i)
    assert np.array_equal(scn.facility_index(k, m, h), i)
    assert scn.facility_name(0) == f"{scn.regions[0]}/{scn.models[0]}/{scn.instance_types[0]}"


@pytest.mark.parametrize(("field", "value"), [
    ("models", 5), ("classes", None), ("data_versions", True), ("instance_types", 2.0),
])
def test_name_set_that_is_not_a_list_is_a_scenario_error(content: dict, field: str, value) -> None:
    content[field] = value
    with pytest.raises(ScenarioError, match=field):
        Scenario.from_dict(content)


@pytest.mark.parametrize("value", [224.5, float("inf"), 1e19, 10**30])
def test_integer_field_rejects_fractions_inf_and_huge_values(content: dict, value) -> None:
    # 224.5 used to be truncated to 224 silently; inf and huge values raised a raw OverflowError.
    content["data_resolution_px"][0] = value
    with pytest.raises(ScenarioError, match="data_resolution_px"):
        Scenario.from_dict(content)


def test_boolean_field_rejects_numbers(content: dict) -> None:
    content["instance_is_gpu"][0] = 0.5  # used to become True silently
    with pytest.raises(ScenarioError, match="instance_is_gpu"):
        Scenario.from_dict(content)


@pytest.mark.parametrize("value", [None, 0])
def test_home_region_must_be_a_name(content: dict, value) -> None:
    content["deployment_home_region"] = value  # used to fall back to regions[0] silently
    with pytest.raises(ScenarioError, match="deployment_home_region"):
        Scenario.from_dict(content)


def test_format_version_must_be_the_integer(scn: Scenario, tmp_path) -> None:
    path = scn.save(tmp_path / "s.json")
    doc = json.loads(path.read_text())
    doc["format_version"] = True  # True == 1 used to pass
    path.write_text(json.dumps(doc))
    with pytest.raises(ScenarioError, match="format_version"):
        Scenario.load(path)


def test_bundled_scenarios_load_by_name_path_and_fresh():
    from a2gym.scenario import bundled_manifest, bundled_scenario_path, load_bundled_scenario

    name = "a2-test-v0/placement-0"
    assert bundled_scenario_path(name).is_file()
    assert bundled_scenario_path(f"scenario://{name}").name == "placement-0.json"
    cached = load_scenario(f"scenario://{name}")
    assert load_bundled_scenario(name) is cached
    fresh = load_bundled_scenario(f"scenario://{name}", fresh=True)
    assert fresh is not cached and fresh.sha256 == cached.sha256 == bundled_manifest()[name]
    assert fresh.uri == cached.uri == f"scenario://{name}"
    with pytest.raises(ScenarioError, match="unknown scenario"):
        bundled_scenario_path("no-such-v0")
    with pytest.raises(ScenarioError, match="unknown scenario"):
        load_bundled_scenario("no-such-v0", fresh=True)


def test_feasibility_is_checked_above_the_scenario_reader(tmp_path):
    """``a2gym.scenario`` reads any valid scenario; ``a2gym.load_scenario`` (cost model) refuses one with
    an unservable class, naming it, unless ``check_feasible=False``."""
    import numpy as np

    from a2gym.errors import InfeasibleError
    from a2gym.scenario import read_scenario

    s = load_scenario("scenario://a2-test-v0/placement-1")
    slo = np.array(s.class_latency_slo_ms)
    slo[3] = 1.0  # 1 ms: nothing can serve it
    path = s.replace(class_latency_slo_ms=slo).save(tmp_path / "tight.json")
    assert read_scenario(str(path)).class_latency_slo_ms[3] == 1.0
    with pytest.raises(InfeasibleError) as e:
        load_scenario(str(path))
    assert e.value.classes == (s.classes[3],)
    assert load_scenario(str(path), check_feasible=False).n_classes == s.n_classes
