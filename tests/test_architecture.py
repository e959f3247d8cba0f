"""Import direction of the library, read from the source with ``ast`` (so a wrong import fails here).

Layers, lowest first; a module may import its own layer and the layers below it, never above::

    errors checks cache fileio plan physics   helpers with no a2gym dependency but errors
    scenario                                  the Scenario type, its files and URIs
    costmodel                                 feasibility and cost of plans
    solvers                                   A2-Greedy, LPRound, MILP, bounds, baselines
    envs policies viz heuristics sb3 rollout  the Gymnasium envs and what they use; policies acting on them
    a2gym (the package root)                  the public API: imports the layers above, none imports it
    leaderboard                               records, eval, validate, score
    cli                                       the console script

and the library imports none of the repository's top-level ``agents``, ``baselines``, ``experiments``
(resolving a ``MODULE:OBJECT`` spec that a user passes, with importlib, is not an import statement).
Imports under ``if TYPE_CHECKING:`` are for annotations only and do not count.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "a2gym"
LAYERS = [
    {"errors", "checks", "cache", "fileio", "plan", "physics", "exactmath"},
    {"scenario"},
    {"costmodel"},
    {"solvers"},
    {"envs", "policies", "viz", "heuristics", "sb3", "rollout"},
    {"<root>"},
    {"leaderboard"},
    {"cli"},
]
RANK = {part: i for i, layer in enumerate(LAYERS) for part in layer}
OUTSIDE = {"agents", "baselines", "experiments"}
# Imports that break the rule and are being removed by another part of issue 13; listed here, by file and
# imported module, so that every *other* wrong import fails now.  Remove an entry when its import goes.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def imports_of(path: Path, here: str) -> list[tuple[int, str]]:
    """(line, imported module) of every import in ``path``, the module ``here`` (any depth, not under
    TYPE_CHECKING); ``from a2gym import x`` counts as importing ``a2gym.x`` when x is a submodule."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = here.split(".")[: len(here.split(".")) - node.level + (path.name == "__init__.py")]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for a in node.names:
                sub = f"{mod}.{a.name}"
                is_sub = (PKG.parent / sub.replace(".", "/")).with_suffix(".py").exists() or (
                    PKG.parent / sub.replace(".", "/") / "__init__.py").exists()
                out.append((node.lineno, sub if is_sub else mod))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return out


def _part(module: str) -> str | None:
    """The layer key of an a2gym module (``<root>`` for the package itself), None outside a2gym."""
    p = module.split(".")
    if p[0] != "a2gym":
        return None
    return p[1] if len(p) > 1 else "<root>"


MODULES = sorted(PKG.rglob("*.py"))


def test_every_library_part_has_a_layer():
    parts = {_part(_module_name(p)) for p in MODULES}
    assert parts - {"<root>"} <= set(RANK), f"add new parts to LAYERS: {sorted(parts - set(RANK))}"


def wrong_imports(path: Path, here: str) -> list[str]:
    """Each import of ``path`` (module ``here``) that points up a layer or out of the library."""
    mine = _part(here)
    bad = []
    for line, mod in imports_of(path, here):
        top = mod.split(".")[0]
        if (here.replace(".", "/") + ".py", mod) in KNOWN_EXCEPTIONS:
            continue
        if top in OUTSIDE:
            bad.append(f"line {line}: imports {mod} (the library must not import the repository's {top}/)")
        theirs = _part(mod)
        if theirs is None or here == "a2gym":
            continue
        if theirs == "<root>":
            if RANK[mine] < RANK["<root>"]:
                bad.append(f"line {line}: imports the package root `a2gym` from below; import the submodule")
        elif RANK[theirs] > RANK[mine]:
            bad.append(f"line {line}: {mine} (layer {RANK[mine]}) imports {mod} (layer {RANK[theirs]})")
    return bad


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG.parent)))
def test_imports_point_down(path: Path):
    bad = wrong_imports(path, _module_name(path))
    assert not bad, f"{path.relative_to(PKG.parent)}:\n" + "\n".join(bad)


def test_the_checker_sees_bad_imports(tmp_path: Path):
    """The parser finds lazy, aliased and root imports (a checker that sees nothing would pass anything)."""
    f = tmp_path / "probe.py"
    f.write_text("def f():\n    import a2gym\n    from a2gym import costmodel as c\n    import agents.train\n"
                 "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a2gym import solvers\n")
    got = [m for _, m in imports_of(f, "a2gym.scenario.probe")]
    assert got == ["a2gym", "a2gym.costmodel", "agents.train", "typing"]
    bad = wrong_imports(f, "a2gym.scenario.probe")
    assert len(bad) == 3 and "package root" in bad[0] and "layer 2" in bad[1] and "agents/" in bad[2]
    assert wrong_imports(f, "a2gym.cli.probe") == [bad[2]]  # the cli may import the root and the cost model
