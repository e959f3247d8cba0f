"""Entry code runs in a worker process of its own, never inside the scorer.

Every policy that is not a built-in heuristic (``MODULE:OBJECT``, ``FILE.py:OBJECT``, ``sb3:…``) is
loaded by ``python -m a2gym.leaderboard.worker_main``, started fresh per resolved policy (one per entry).
The scorer (:class:`Worker`) sends it, over a pipe, only what a policy may see: the spec to load, then
per episode the context (env id and kwargs, the spaces, a copy of the scenario, the seed), then per
step ``(obs, info)``; the worker answers with the action as JSON. The scorer never unpickles anything
the worker sends (answers are bounded JSON frames) and never imports the entry's modules.

What is enforced on the worker:

* a fresh process per entry: no state shared with the scorer or other entries; ``close_fds`` (only
  the two pipe ends and a stderr log file are open), a minimal environment, the working directory a new
  empty temporary folder (not the repository), no bytecode written;
* limits: :data:`LOAD_TIMEOUT_S` to load the policy, :data:`MAKE_TIMEOUT_S` to make it per episode,
  :data:`STEP_TIMEOUT_S` per action and :data:`EPISODE_TIMEOUT_S` per episode (wall clock, enforced by
  the scorer, which kills the worker), address space :data:`MEMORY_LIMIT_BYTES` and no core files
  (``resource.setrlimit``, hard limits, set before the entry's code is imported);
* OS isolation where it is available: when ``unshare --user --map-root-user --net`` works (a user
  namespace), the worker runs in it, without network access;
* a worker that exits, hangs, exceeds a limit or breaks the protocol fails its entry with a one-line
  :class:`WorkerError`; it cannot change the scorer's state or exit code.

Not enforced: the file system is not made read-only (the worker runs as the same user, so it can read
files, including other entries' records, and write where that user can). This cannot change a score:
outcomes are computed by the scorer's env from the actions, and actions are checked step by step
against the record. The worker also reports the repository files it loaded (an audit hook on ``open``
plus its imported modules), which the scorer hashes itself into the entry's closure digest
(:func:`closure_digest`); an entry that hides a file from that report is trusted not to.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import pickle
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from a2gym.errors import RecordError

LOAD_TIMEOUT_S = 600.0
MAKE_TIMEOUT_S = 300.0
STEP_TIMEOUT_S = 60.0
EPISODE_TIMEOUT_S = 3600.0
MEMORY_LIMIT_BYTES = 16 * 2**30
MAX_ANSWER_BYTES = 16 * 2**20
ENV_PASSED = ("PATH", "LANG", "LC_ALL", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "CUDA_VISIBLE_DEVICES")
_HEAD = struct.Struct(">Q")


class WorkerError(RecordError):
    """The entry's worker failed (exited, hung, exceeded a limit, broke the protocol or raised)."""


def code_root() -> Path:
    """The repository root: the folder that holds the ``a2gym`` package (and ``agents``, ``tests``)."""
    import a2gym

    return Path(a2gym.__file__).resolve().parents[1]


_UNSHARE: list[str] | None = None


def isolation_prefix() -> list[str]:
    """``unshare --user --map-root-user --net --`` if that works here, else ``[]`` (checked once)."""
    global _UNSHARE
    if _UNSHARE is None:
        cmd = ["unshare", "--user", "--map-root-user", "--net", "--"]
        _UNSHARE = []
        if shutil.which("unshare") and os.environ.get("A2GYM_WORKER_NO_UNSHARE") != "1":
            try:
                ok = subprocess.run([*cmd, "true"], capture_output=True, timeout=10).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
            _UNSHARE = cmd if ok else []
    return _UNSHARE


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line, control characters escaped, cut to ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat.encode("ascii", "backslashreplace").decode("ascii")[:limit]


class Worker:
    """The scorer's end of one worker process (see the module docstring)."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._dir = tempfile.mkdtemp(prefix="a2gym-worker-")
        self._log = open(os.path.join(self._dir, "stderr.log"), "w+b")  # noqa: SIM115
        env = {k: os.environ[k] for k in ENV_PASSED if k in os.environ}
        env.update(PYTHONPATH=str(code_root()), PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0",
                   HOME=self._dir, TMPDIR=self._dir, MPLBACKEND="Agg", PYTHONNOUSERSITE="1")
        work = os.path.join(self._dir, "cwd")
        os.mkdir(work)
        child = "a2gym.leaderboard.worker_main"
        cmd = [*isolation_prefix(), sys.executable, "-m", child, str(MEMORY_LIMIT_BYTES)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
                                     cwd=work, env=env, close_fds=True, start_new_session=True)
        atexit.register(self.close)
        self._episode_start = 0.0

    # -- protocol -------------------------------------------------------------------------------------
    def call(self, msg: tuple, timeout: float, what: str) -> dict[str, Any]:
        """Send ``msg``, wait at most ``timeout`` s for the answer; WorkerError (worker killed) otherwise."""
        if self.proc.poll() is not None:
            raise WorkerError(self._exited(what))
        data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(_HEAD.pack(len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            self.close()
            raise WorkerError(self._exited(what)) from None
        deadline = time.monotonic() + timeout
        head = self._read(_HEAD.size, deadline, what)
        (n,) = _HEAD.unpack(head)
        if n > MAX_ANSWER_BYTES:
            self.close()
            raise WorkerError(f"policy {self.spec!r}: {what}: the worker broke the protocol (answer of "
                              f"{n} bytes)")
        body = self._read(n, deadline, what)
        try:
            ans = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self.close()
            raise WorkerError(f"policy {self.spec!r}: {what}: the worker broke the protocol "
                              "(not JSON)") from None
        if not isinstance(ans, dict) or not (ans.get("ok") is True or isinstance(ans.get("error"), str)):
            self.close()
            raise WorkerError(f"policy {self.spec!r}: {what}: the worker broke the protocol (bad answer)")
        if "error" in ans:
            if ans.get("plain") is True:
                raise WorkerError(one_line(ans["error"], 500))
            raise WorkerError(f"policy {self.spec!r}: {what}: {one_line(ans['error'])}")
        return ans

    def _read(self, n: int, deadline: float, what: str) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = b""
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise WorkerError(f"policy {self.spec!r}: {what}: no answer within its time limit; the "
                                  "worker was stopped")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, min(n - len(buf), 1 << 20))
            if not chunk:
                self.proc.wait(timeout=5)
                raise WorkerError(self._exited(what))
            buf += chunk
        return buf

    def _exited(self, what: str) -> str:
        code = self.proc.poll()
        tail = ""
        try:
            self._log.flush()
            self._log.seek(0)
            text = self._log.read()[-4000:].decode("utf-8", "replace")
            lines = [ln for ln in text.splitlines() if ln.strip()]
            tail = f"; its last output: {one_line(lines[-1], 160)}" if lines else ""
        except (OSError, ValueError):
            pass
        return f"policy {self.spec!r}: {what}: the worker exited (code {code}){tail}"

    def close(self) -> None:
        """Stop the worker (kill its process group) and remove its folder."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        with contextlib.suppress(OSError):
            self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- what the scorer calls ------------------------------------------------------------------------
    def load(self, kind: str, target: str) -> None:
        self.call(("load", kind, self.spec, target), LOAD_TIMEOUT_S, "loading it")

    def make(self, ctx: Any) -> Any:
        """The policy of one episode (a callable ``policy(obs, info) -> action`` that asks the worker)."""
        from a2gym.leaderboard.episode import from_jsonable

        where = f"seed {ctx.seed}"
        self.call(("make", ctx.env_id, dict(ctx.env_kwargs), ctx.observation_space, ctx.action_space,
                   ctx.scenario.to_dict(), int(ctx.seed)), MAKE_TIMEOUT_S, f"making the policy ({where})")
        start = time.monotonic()
        space = ctx.action_space

        def policy(obs: Any, info: dict[str, Any]) -> Any:
            left = EPISODE_TIMEOUT_S - (time.monotonic() - start)
            if left <= 0:
                self.close()
                raise WorkerError(f"policy {self.spec!r}: episode ({where}) exceeded "
                                  f"{EPISODE_TIMEOUT_S:.0f} s")
            ans = self.call(("act", obs, info), min(STEP_TIMEOUT_S, left), f"acting ({where})")
            action = ans.get("action")
            if not _json_action(action):
                self.close()
                raise WorkerError(f"policy {self.spec!r}: acting ({where}): the worker broke the protocol "
                                  "(action is not an int or a list of ints)")
            return from_jsonable(action, space)

        return policy

    def files(self) -> list[str]:
        """Repository files (relative paths) the worker has loaded so far, as it reports them."""
        ans = self.call(("files",), MAKE_TIMEOUT_S, "listing its files")
        got = ans.get("files")
        if not isinstance(got, list) or not all(isinstance(f, str) and len(f) < 4096 for f in got):
            self.close()
            raise WorkerError(f"policy {self.spec!r}: the worker broke the protocol (files)")
        return sorted(set(got))


def _json_action(a: Any) -> bool:
    if isinstance(a, bool):
        return False
    if isinstance(a, int):
        return True
    return isinstance(a, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in a)


def closure_digest(files: Iterable[str], root: Path | None = None) -> str:
    """One SHA-256 over the sorted (relative path, SHA-256 of its content) of ``files`` under ``root``,
    hashed by the scorer itself (a file that is missing counts as ``absent``)."""
    root = root or code_root()
    h = hashlib.sha256()
    for rel in sorted(set(files)):
        p = root / rel
        try:
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "absent"
        except OSError:
            digest = "unreadable"
        h.update(f"{rel}\0{digest}\n".encode("utf-8", "backslashreplace"))
    return h.hexdigest()



