"""The worker process's side of :mod:`a2gym.leaderboard.worker` (``python -m a2gym.leaderboard.worker_main``).

Runs in the child the scorer starts per entry: limits its memory, logs which repository files the entry opens
or imports, and answers the scorer's pickled requests (load, make, act, files) with size-limited JSON. Kept
apart from the scorer's side so that :mod:`a2gym.leaderboard.policy` (which starts workers) and the code that
imports entry code (this module, through :func:`a2gym.leaderboard.policy.load_in_worker`) do not import each
other.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import sys
from pathlib import Path
from typing import Any

from a2gym.errors import RecordError
from a2gym.leaderboard.worker import _HEAD


class _FileLog:
    """Repository files opened or imported in this process (the a2gym package and installed packages
    are the scorer's and are left out)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.opened: set[str] = set()
        skip = [root / "a2gym"]
        for p in {sys.prefix, sys.base_prefix, sys.exec_prefix}:
            skip.append(Path(p).resolve())
        self.skip = [str(s) + os.sep for s in skip]

    def hook(self, event: str, args: tuple) -> None:
        if event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
            with contextlib.suppress(TypeError, ValueError):
                self.opened.add(os.fsdecode(args[0]))

    def rel(self, path: str) -> str | None:
        try:
            p = Path(os.path.abspath(path))
        except (TypeError, ValueError):
            return None
        if p.parent.name == "__pycache__" and p.suffix == ".pyc":
            p = p.parent.parent / (p.name.split(".", 1)[0] + ".py")
        s = str(p)
        if any(s.startswith(k) for k in self.skip) or "site-packages" in p.parts:
            return None
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def files(self) -> list[str]:
        paths = set(self.opened)
        for m in list(sys.modules.values()):
            f = getattr(m, "__file__", None)
            if isinstance(f, str):
                paths.add(f)
        out = {r for r in (self.rel(p) for p in paths) if r is not None}
        return sorted(r for r in out if (self.root / r).is_file())


def _serve(memory_limit: int) -> None:  # pragma: no cover  (runs in the worker process)
    import resource

    out = os.fdopen(os.dup(1), "wb")
    inp = os.fdopen(os.dup(0), "rb")
    os.dup2(2, 1)  # whatever the policy prints goes to the log, not into the protocol
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr
    for lim, value in ((resource.RLIMIT_AS, memory_limit), (resource.RLIMIT_CORE, 0)):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(lim, (value, value))
    root = Path(os.environ["PYTHONPATH"]).resolve()
    log = _FileLog(root)
    sys.addaudithook(log.hook)

    def send(obj: dict[str, Any]) -> None:
        data = json.dumps(obj).encode()
        out.write(_HEAD.pack(len(data)) + data)
        out.flush()

    def receive() -> tuple | None:
        head = inp.read(_HEAD.size)
        if len(head) < _HEAD.size:
            return None
        (n,) = _HEAD.unpack(head)
        return pickle.loads(inp.read(n))  # from the scorer, which is trusted

    from a2gym.leaderboard.episode import to_jsonable

    factory = policy = space = None
    while True:
        msg = receive()
        if msg is None or msg[0] == "bye":
            return
        try:
            if msg[0] == "load":
                from a2gym.leaderboard.policy import load_in_worker

                factory = load_in_worker(msg[1], msg[2], msg[3])
                send({"ok": True})
            elif msg[0] == "make":
                from a2gym.heuristics import PolicyContext
                from a2gym.scenario import Scenario

                _, env_id, kwargs, obs_space, space, scn, seed = msg
                ctx = PolicyContext(env_id, kwargs, obs_space, space, Scenario.from_dict(scn), seed)
                policy = factory(ctx)
                send({"ok": True})
            elif msg[0] == "act":
                send({"ok": True, "action": to_jsonable(policy(msg[1], msg[2]), space)})
            elif msg[0] == "files":
                send({"ok": True, "files": log.files()})
            else:
                send({"error": f"unknown message {msg[0]!r}"})
        except BaseException as e:  # noqa: BLE001  (SystemExit, KeyboardInterrupt: the entry's failure, named)
            if isinstance(e, RecordError):
                send({"error": str(e), "plain": True})
            else:
                send({"error": f"{type(e).__name__}: {e}"})



if __name__ == "__main__":  # pragma: no cover
    _serve(int(sys.argv[1]))
