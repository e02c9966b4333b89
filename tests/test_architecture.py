"""The structure holds (DESIGN.md, "Architecture"): dependencies run one way, as the
import-linter contracts in pyproject.toml say, and no module imports one that imports it
back. Each check is also shown to catch the arrow it forbids."""

import grimp
import pytest
from importlinter.api import read_configuration
from importlinter.cli import lint_imports

CONFIGURATION = read_configuration()
ROOTS = CONFIGURATION["session_options"]["root_packages"]
CONTRACTS = {c["id"]: c for c in CONFIGURATION["contracts_options"]}


@pytest.fixture
def graph() -> grimp.ImportGraph:
    """The project's import graph, built afresh (a test may add an import to it)."""
    return grimp.build_graph(*ROOTS, cache_dir=None)


def _layers() -> list[grimp.Layer]:
    """The layers contract as grimp reads it: "a | b" is a layer of independent siblings."""
    return [grimp.Layer(*(m.strip() for m in layer.split("|")), independent=True)
            for layer in CONTRACTS["layers"]["layers"]]


def _cycles(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    """Every import A → B where B also reaches A."""
    return sorted((a, b) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
                  if graph.find_shortest_chain(importer=b, imported=a))


def test_the_import_contracts_hold():
    assert lint_imports(no_cache=True, no_logo=True) == 0


def test_the_layers_hold_on_the_code(graph):
    assert graph.find_illegal_dependencies_for_layers(layers=_layers()) == set()


@pytest.mark.parametrize("importer, imported", [
    ("geodata.readers", "gridmap.models"),  # geodata imports nothing of the apps
    ("gridmap.access", "cases.patients.models"),  # the grid knows no case app
    ("gridmap.urls", "config.urls"),  # the apps do not import the project
    ("cases.patients.services", "cases.transfers.services"),  # transfers → patients only
    ("cases.screening.selectors", "cases.patients.selectors"),  # screening stands beside the register
    ("cases.patients.importers.ledger", "cases.screening.services"),
    ("config.importers", "demo.county"),  # the demo sits on top
])
def test_the_layers_catch_an_import_the_wrong_way(graph, importer, imported):
    graph.add_import(importer=importer, imported=imported)
    assert graph.find_illegal_dependencies_for_layers(layers=_layers())


def test_no_module_imports_one_that_imports_it_back(graph):
    assert _cycles(graph) == []


def test_a_cycle_would_be_found(graph):
    graph.add_import(importer="cases.screening.selectors", imported="cases.screening.services")
    assert ("cases.screening.selectors", "cases.screening.services") in _cycles(graph)
