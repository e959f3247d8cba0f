"""Policy specs: what ``--policy`` and an entry header's ``policy`` name, and how they are made.

A policy is made per episode from a :class:`~a2gym.heuristics.PolicyContext` (env id and kwargs, the
spaces, a copy of the scenario, the seed), never from the env object. Specs:

* a built-in heuristic (:data:`a2gym.heuristics.HEURISTICS`: ``origin-local``, ``cheapest``, ``random``);
* ``sb3:[ALGO:]PATH``: a Stable-Baselines3 / sb3-contrib model zip or run directory, loaded by
  :func:`a2gym.sb3.load_model` (VecNormalize applied, MaskablePPO given ``info["action_mask"]``);
  pinned by the SHA-256 of the zip (and its statistics);
* ``MODULE:OBJECT`` (a module of the repository) or ``FILE.py:OBJECT`` (a file inside the repository):
  a factory ``f(ctx) -> policy`` (one required argument) or a policy object
  ``policy(obs, info) -> action`` (two); pinned by the SHA-256 of the module's file and by the digest
  of every repository file it loads (``policy_files_sha256``, :mod:`a2gym.leaderboard.closure`).

Every spec but a built-in heuristic must resolve inside the repository, and its code runs only in a
worker process of its own (:mod:`a2gym.leaderboard.worker`): the scorer locates and hashes the files,
it never imports them.

The reserved rows (reference, oracle, the paper's baselines, optimum) are not specs: the scorer
computes them itself (:mod:`a2gym.leaderboard.reserved`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
from pathlib import Path
from typing import Any

from a2gym.errors import RecordError
from a2gym.heuristics import HEURISTICS, Policy, PolicyContext, PolicyFactory


@dataclasses.dataclass(frozen=True)
class ResolvedPolicy:
    """A resolved spec: its kind (``heuristic``, ``sb3``, ``object``), factory and pinned hash.

    For every kind but ``heuristic`` the factory asks the entry's worker process
    (:mod:`a2gym.leaderboard.worker`), which alone imports the entry's code.
    """

    spec: str
    kind: str
    factory: PolicyFactory
    sha256: str | None
    worker: Any = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def builtin(self) -> bool:
        return self.kind == "heuristic"

    def loaded_files(self) -> list[str]:
        """Repository files the entry's worker has loaded so far (relative paths; [] for a heuristic)."""
        return [] if self.worker is None else self.worker.files()

    def close(self) -> None:
        """Stop the worker (if any)."""
        if self.worker is not None:
            self.worker.close()


def policy_root() -> Path:
    """The folder every policy spec must resolve inside: the repository (the folder holding ``a2gym``)."""
    from a2gym.leaderboard.worker import code_root

    return code_root()


def _inside_root(spec: str, path: Path) -> Path:
    root = policy_root().resolve()
    p = path.resolve()
    if p != root and root not in p.parents:
        raise RecordError(f"policy {spec!r}: {path} is outside the repository {root}; entries must be "
                          "committed inside it")
    return p


def resolve_policy(spec: str) -> ResolvedPolicy:
    """Resolve ``spec`` (see the module docstring); RecordError with a one-line reason otherwise.

    The scorer never imports the entry's code: the module's file is located (inside the repository) and
    hashed here; the worker process imports it.
    """
    if not isinstance(spec, str) or not spec or len(spec) > 512 or not spec.isprintable():
        raise RecordError(f"policy spec {str(spec)[:60]!r} must be 1..512 printable characters")
    if spec in HEURISTICS:
        return ResolvedPolicy(spec, "heuristic", HEURISTICS[spec], None)
    if spec.startswith("sb3:"):
        return _sb3(spec)
    if ":" in spec:
        return _object(spec)
    from a2gym.leaderboard.entry import is_reserved

    if is_reserved(spec):
        raise RecordError(f"{spec!r} is a row the scorer computes itself, not a policy you can enter")
    raise RecordError(f"unknown policy {spec!r}: not a built-in heuristic ({', '.join(HEURISTICS)}), "
                      "MODULE:OBJECT, FILE.py:OBJECT or sb3:[ALGO:]PATH")


def module_file(spec: str, target: str) -> Path:
    """The source file of ``target`` (a dotted module name or a ``.py`` path) inside the repository,
    found without importing anything; RecordError if there is none."""
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise RecordError(f"policy {spec!r}: {target} is not a file")
        return _inside_root(spec, path)
    parts = target.split(".")
    if not all(p.isidentifier() for p in parts):
        raise RecordError(f"policy {spec!r}: {target!r} is not a module name")
    base = policy_root().joinpath(*parts)
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return _inside_root(spec, cand)
    raise RecordError(f"policy {spec!r}: cannot import {target!r}: no {'/'.join(parts)}.py in the repository "
                      f"{policy_root()} (or give FILE.py:OBJECT)")


def _start(spec: str, kind: str, target: str) -> Any:
    from a2gym.leaderboard.worker import Worker

    worker = Worker(spec)
    try:
        worker.load(kind, target)
    except RecordError:
        worker.close()
        raise
    return worker


def _object(spec: str) -> ResolvedPolicy:
    target, _, attr = spec.rpartition(":")
    source = module_file(spec, target)
    sha = hashlib.sha256(source.read_bytes()).hexdigest()
    worker = _start(spec, "object", str(source) if target.endswith(".py") else target)
    return ResolvedPolicy(spec, "object", worker.make, sha, worker)


def _sb3_target(rest: str) -> tuple[str | None, str]:
    """(algorithm or None, path) of the part of an ``sb3:[ALGO:]PATH`` spec after ``sb3:``."""
    from a2gym.sb3 import ALGORITHMS

    algo, sep, path = rest.partition(":")
    return (algo, path) if sep and algo.lower() in ALGORITHMS else (None, rest)


def _sb3(spec: str) -> ResolvedPolicy:
    from a2gym.sb3 import ModelError, model_files

    algo, path = _sb3_target(spec[len("sb3:"):])
    try:
        files = model_files(path, algo)
    except ModelError as e:
        raise RecordError(str(e)) from None
    _inside_root(spec, files.zip)
    sha = files.sha256
    absolute = str(Path(path).resolve())  # the worker runs in another folder
    worker = _start(spec, "sb3", f"{algo}:{absolute}" if algo else absolute)
    return ResolvedPolicy(spec, "sb3", worker.make, sha, worker)


# -- in the worker process only ---------------------------------------------------------------------------

def load_in_worker(kind: str, spec: str, target: str) -> PolicyFactory:
    """The factory of ``spec``, imported here (the worker; :mod:`a2gym.leaderboard.worker`)."""
    if kind == "sb3":
        return _sb3_factory(spec, target)
    _, _, attr = spec.rpartition(":")
    module = _load_module(spec, target)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise RecordError(f"policy {spec!r}: {target} has no attribute {attr!r}") from None
    n = _required_args(obj, spec)
    if n == 1:
        return obj
    return lambda ctx: obj


def _load_module(spec: str, target: str) -> Any:
    if target.endswith(".py"):
        path = Path(target)
        mspec = importlib.util.spec_from_file_location(f"a2gym_policy_{path.stem}", path)
        if mspec is None or mspec.loader is None:
            raise RecordError(f"policy {spec!r}: cannot load {target}")
        module = importlib.util.module_from_spec(mspec)
        try:
            mspec.loader.exec_module(module)
        except Exception as e:  # noqa: BLE001  (the entrant's module failing to import is their error, named)
            raise RecordError(
                f"policy {spec!r}: importing {target} failed: {type(e).__name__}: {e}"
            ) from None
        return module
    try:
        return importlib.import_module(target)
    except ImportError as e:
        raise RecordError(f"policy {spec!r}: cannot import {target!r}: {e}") from None
    except Exception as e:  # noqa: BLE001
        raise RecordError(f"policy {spec!r}: importing {target!r} failed: {type(e).__name__}: {e}") from None


def _required_args(obj: Any, spec: str) -> int:
    """1 (a factory f(ctx)) or 2 (a policy f(obs, info)); RecordError for anything else."""
    if not callable(obj):
        raise RecordError(f"policy {spec!r} is not callable")
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        raise RecordError(f"policy {spec!r}: its signature cannot be read; expected a factory f(ctx) "
                          "or a policy f(obs, info)") from None
    n = sum(1 for p in sig.parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    if n not in (1, 2):
        raise RecordError(f"policy {spec!r} takes {n} required argument(s); expected a factory f(ctx) "
                          "(one) or a policy f(obs, info) (two)")
    return n


def _sb3_factory(spec: str, rest: str) -> PolicyFactory:
    from a2gym.sb3 import ModelError, load_model

    algo, path = _sb3_target(rest)
    try:
        model = load_model(path, algo)
    except ModelError as e:
        raise RecordError(str(e)) from None

    def factory(ctx: PolicyContext) -> Policy:
        for what in ("observation_space", "action_space"):
            mine, theirs = getattr(model.model, what), getattr(ctx, what)
            if mine.shape != theirs.shape or type(mine) is not type(theirs):
                raise RecordError(
                    f"sb3 model {path!r} was trained with {what} {mine}, but {ctx.env_id} on "
                    f"{ctx.scenario.name!r} with the suite's env kwargs has {theirs}: train it with the "
                    "suite's env kwargs (see a2gym.leaderboard.suite)")

        def policy(obs: Any, info: dict[str, Any]) -> Any:
            return model.act(obs, info.get("action_mask"))

        return policy

    return factory
