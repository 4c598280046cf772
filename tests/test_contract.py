"""The contract (tests/contract.py) for every config of every registered dataset, on its stand-ins."""

import pytest

from scene_text_seg import builder as engine
from scene_text_seg import registry
from tests import contract

CONTRACTS = [
    (name, config)
    for name in registry.DATASETS
    for config in engine.config_names(contract.builder_of(registry.dataset_module(name)))
]


def test_every_config_states_its_rows_on_the_stand_ins():
    for name, config in CONTRACTS:
        sizes = contract.builder_of(registry.dataset_module(name)).SPEC.stand_in_split_sizes
        assert config in sizes, f"{name}: SPEC.stand_in_split_sizes has no {config!r}"


def one_worker_each(contracts: list[tuple[str, str]]) -> list:
    """Each (dataset, config) as a parameter whose tests are one xdist group (`--dist loadgroup`): they run in
    one worker, which builds the config once, instead of each worker that gets one of them building it."""
    params = []
    for name, config in contracts:
        label = f"{name}-{config}"
        params.append(pytest.param((name, config), marks=pytest.mark.xdist_group(f"contract-{label}"), id=label))
    return params


@pytest.fixture(scope="module", params=one_worker_each(CONTRACTS))
def prepared(request, tmp_path_factory):
    name, config = request.param
    return contract.prepare(registry.dataset_module(name), config, str(tmp_path_factory.mktemp(f"{name}-{config}")))


def test_split_counts(prepared):
    contract.check_split_counts(prepared)


def test_keys_are_unique_within_each_split(prepared):
    contract.check_unique_keys(prepared)


def test_no_image_is_in_two_splits(prepared):
    contract.check_no_image_in_two_splits(prepared)


def test_schema(prepared):
    contract.check_schema(prepared)


def test_reload_is_served_from_the_cache(prepared, monkeypatch):
    contract.check_reload_is_served_from_the_cache(prepared, monkeypatch)


def test_streaming_equals_arrow(prepared):
    contract.check_streaming_equals_arrow(prepared)


def test_the_export_loads_with_no_script_like_the_builder(prepared, tmp_path):
    contract.check_export_loads_with_no_script(prepared, str(tmp_path))


# Two build processes for each dataset's default config (a pool's start costs each build about a second).
DEFAULTS = [(name, "default") for name in registry.DATASETS]


@pytest.mark.parametrize("prepared", one_worker_each(DEFAULTS), indirect=True)
def test_two_processes_give_the_same_rows(prepared, tmp_path):
    contract.check_two_processes_give_the_same_rows(prepared, str(tmp_path))
