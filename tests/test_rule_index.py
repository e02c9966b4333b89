"""docs/rules.md lists every rule (R0–R35) with the code that implements it and the tests
that prove it; the table cannot drift from the code."""

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INDEX = ROOT / "docs" / "rules.md"
CODE = ("config", "gridmap", "cases", "geodata", "demo")
CITED = re.compile(r"\bR(\d{1,2})\b")
NOT_YET = "not implemented yet"


def table() -> dict[int, dict[str, str]]:
    """rule number -> its row (what, implemented by, proved by, not yet)."""
    rows = {}
    for line in INDEX.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"R\d+", cells[0]):
            rows[int(cells[0][1:])] = dict(zip(("what", "code", "tests", "not_yet"), cells[1:], strict=True))
    return rows


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def cited_in_code() -> dict[int, set[str]]:
    """rule number -> the code files citing it (comments, docstrings, strings)."""
    found: dict[int, set[str]] = {}
    for folder in CODE:
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for number in CITED.findall(path.read_text(encoding="utf-8")):
                found.setdefault(int(number), set()).add(str(path.relative_to(ROOT)))
    return found


def resolve(dotted: str):
    """A module attribute by its dotted name (module, then attributes)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute)
        return target
    raise ModuleNotFoundError(dotted)


def test_every_rule_has_its_row():
    assert sorted(table()) == list(range(36))


def test_every_rule_cited_in_the_code_is_in_the_table():
    missing = {f"R{n}": sorted(files) for n, files in cited_in_code().items() if n not in table()}
    assert missing == {}


def test_a_rule_said_not_implemented_is_cited_nowhere_and_an_implemented_one_has_code_and_tests():
    cited = cited_in_code()
    for number, row in table().items():
        if row["code"] == NOT_YET:
            assert number not in cited, (f"R{number}", sorted(cited.get(number, ())))
            assert not names(row["tests"])
        else:
            assert names(row["code"]) and names(row["tests"]), f"R{number}"


@pytest.mark.parametrize("dotted", sorted({n for row in table().values() for n in names(row["code"])}))
def test_the_code_named_exists(dotted):
    assert resolve(dotted) is not None


@pytest.mark.parametrize("reference", sorted({n for row in table().values() for n in names(row["tests"])}))
def test_the_tests_named_exist(reference):
    path, name = reference.split("::")
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    assert name in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


@pytest.mark.parametrize("module", ["cases.patients.rules", "cases.transfers.rules", "cases.screening.rules"])
def test_every_public_function_of_a_rules_module_cites_its_rule(module):
    import inspect

    rules = importlib.import_module(module)
    public = [f for name, f in inspect.getmembers(rules, inspect.isfunction)
              if not name.startswith("_") and f.__module__ == module]
    assert public
    for function in public:
        assert CITED.search(function.__doc__ or ""), f"{module}.{function.__name__}"
