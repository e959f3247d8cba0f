"""``a2gym eval``, ``a2gym validate`` and ``a2gym leaderboard build`` (logic in :mod:`a2gym.leaderboard`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import click
from tqdm import tqdm


def _ray_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--ray``, ``--ray-address`` and ``--ray-num-cpus`` options of eval and validate."""
    f = click.option("--ray-num-cpus", type=click.IntRange(min=1), default=None,
                     help="CPUs of the local Ray started when there is no --ray-address (default: all).")(f)
    f = click.option(
        "--ray-address",
        default=None,
        help="Join this Ray cluster (e.g. auto, ray://HEAD:10001) instead of starting a local one.",
    )(f)
    return click.option("--ray", "use_ray", is_flag=True,
                        help='Run the episodes as Ray tasks (extra: pip install "a2gym[ray]").')(f)


def _ray_args(use_ray: bool, address: str | None, num_cpus: int | None) -> dict[str, Any] | None:
    """Keyword arguments of the Ray path, or None for the sequential one; checks the option combination."""
    if not use_ray:
        if address is not None or num_cpus is not None:
            raise click.UsageError("--ray-address and --ray-num-cpus need --ray")
        return None
    if address is not None and num_cpus is not None:
        raise click.UsageError("--ray-num-cpus sizes a local Ray; the cluster at --ray-address has its own")
    from a2gym.leaderboard.distributed import import_ray

    import_ray()  # fails now, naming the extra, if Ray is missing
    return {"address": address, "num_cpus": num_cpus}


class _LineProgress:
    """Progress for a stderr that is not a terminal (CI logs, pipes): one plain line at most every
    ``every`` seconds and one at the end, instead of tqdm's carriage returns or silence."""

    def __init__(self, desc: str, unit: str, total: int | None, every: float = 15.0) -> None:
        self.desc, self.unit, self.total, self.every = desc, unit, total, every
        self.n, self.t0 = 0, time.monotonic()
        self.last = self.t0

    def __enter__(self) -> _LineProgress:
        return self

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._line()

    def _line(self) -> None:
        of = f"/{self.total}" if self.total else ""
        print(f"{self.desc}: {self.n}{of} {self.unit}s, {time.monotonic() - self.t0:.0f} s", file=sys.stderr,
              flush=True)

    def __exit__(self, *exc: object) -> None:
        if self.n:
            self._line()


def _progress(desc: str, unit: str, total: int | None = None) -> tqdm | _LineProgress:
    """A tqdm bar on a terminal, else :class:`_LineProgress` (so CI logs show that a long check moves)."""
    if not sys.stderr.isatty():
        return _LineProgress(desc, unit, total)
    return tqdm(desc=desc, total=total, unit=unit, file=sys.stderr, leave=False)


@click.command("eval")
@click.option("--policy", "spec", required=True,
              help="origin-local | cheapest | random | MODULE:OBJECT | FILE.py:OBJECT | sb3:[ALGO:]PATH "
                   "(a model zip or an agents.train run directory)")
@click.option("--suite", "suite_name", default="a2-test-v1", show_default=True,
              help="Suite: a2-test-v1 (ranked), a2-val-v1 (validation split, for tuning), a2-test-v0.")
@click.option("--seeds", type=int, default=None, help="Seeds per scenario (suite default, at least 5).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Results file (JSONL).")
@click.option(
    "--name", default=None, help="Entry name, [A-Za-z0-9._-]{1,64} (default: the heuristic's name)."
)
@click.option("--description", default="", help="One line shown with the entry (at most 1000 characters).")
@click.option("--env", "env_ids", multiple=True, help="Only these env ids of the suite (repeatable).")
@click.option("--trained-on-test/--not-trained-on-test", default=None,
              help="Declare whether the policy was trained or tuned on the test scenarios (required for "
                   "MODULE:OBJECT and sb3 policies).")
@click.option("--append", "mode", flag_value="append", help="Add the missing episodes to an existing --out.")
@click.option("--overwrite", "mode", flag_value="overwrite", help="Replace an existing --out.")
@_ray_options
def eval_cmd(spec: str, suite_name: str, seeds: int | None, out: str, name: str | None, description: str,
             env_ids: tuple[str, ...], trained_on_test: bool | None, mode: str | None, use_ray: bool,
             ray_address: str | None, ray_num_cpus: int | None) -> None:
    """Evaluate a policy on every scenario and seed of a suite; write the entry header and one replay-checked
    record per episode to --out, then print its score (as `a2gym leaderboard score` does)."""
    from a2gym.leaderboard.policy import resolve_policy
    from a2gym.leaderboard.suite import get_suite

    ray_args = _ray_args(use_ray, ray_address, ray_num_cpus)
    suite = get_suite(suite_name)
    envs = tuple(env_ids) or None
    for e in envs or ():
        suite.entry(e)
    suite.seeds(seeds)
    if name is None and ":" in spec:
        raise click.UsageError("give the entry a --name ([A-Za-z0-9._-]{1,64})")
    policy = resolve_policy(spec)
    try:
        _eval(policy, name, trained_on_test, description, suite, seeds, envs, out, mode, ray_args)
    finally:
        policy.close()  # the entry's worker process


def _eval(policy, name, trained_on_test, description, suite, seeds, envs, out, mode, ray_args  # type: ignore[no-untyped-def]
          ) -> None:
    from a2gym.leaderboard.build import score_files
    from a2gym.leaderboard.evaluate import eval_to_file, evaluate_suite, make_header, suite_closure

    if trained_on_test is None and not policy.builtin:
        make_header(policy, name, trained_on_test, description, suite)  # the declaration first
    closure = suite_closure(policy, suite, seeds, envs)
    header = make_header(policy, name, trained_on_test, description, suite, closure)
    total = len(suite.episodes(seeds, envs))
    with _progress(f"eval {header.name}", "episode", total) as bar:
        if ray_args is None:
            def runner(p, skip):  # type: ignore[no-untyped-def]
                return evaluate_suite(p, suite, seeds, envs, skip, closure)
        else:
            from a2gym.leaderboard.distributed import evaluate_suite_ray

            def runner(p, skip):  # type: ignore[no-untyped-def]
                return evaluate_suite_ray(p.spec, suite, seeds, envs, skip, **ray_args)
        res = eval_to_file(out, header, policy, runner, mode or "new", on_record=lambda r: bar.update(1))
    click.echo(f"wrote {len(res.records)} records ({res.new} new) to {res.path}")
    with _progress("score", "record") as bar:
        click.echo(score_files([str(res.path)], progress=lambda n: bar.update(n)))


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--rerun", is_flag=True, help="Also re-execute each entry's policy and require identical actions."
)
@_ray_options
def validate_cmd(files: tuple[str, ...], rerun: bool, use_ray: bool, ray_address: str | None,
                 ray_num_cpus: int | None) -> None:
    """Replay every record of FILES in fresh envs (with --rerun, re-execute the policies too); exit 1 naming
    file:line of every problem."""
    from a2gym.leaderboard.validate import validate_files

    ray_args = _ray_args(use_ray, ray_address, ray_num_cpus)
    with _progress("validate", "record") as bar:
        if ray_args is None:
            good, problems = validate_files(files, progress=lambda n: bar.update(1), rerun=rerun)
        else:
            from a2gym.leaderboard.distributed import validate_files_ray

            good, problems = validate_files_ray(files, lambda n: bar.update(1), rerun=rerun, **ray_args)
    for p in problems:
        click.echo(p, err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s); {len(good)} record(s) valid", err=True)
        sys.exit(1)
    what = "were re-executed and replay exactly" if rerun else "replay exactly"
    click.echo(f"{len(good)} record(s) in {len(files)} file(s) {what}")


@click.group("leaderboard")
def leaderboard_group() -> None:
    """Generate LEADERBOARD.md from the committed entries, or score any results file."""


@leaderboard_group.command("build")
@click.option(
    "--dir",
    "record_dir",
    default="leaderboard",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder of the committed entries (*.jsonl); the chart goes here too.",
)
@click.option("--out", default="LEADERBOARD.md", show_default=True, type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if LEADERBOARD.md or the chart is stale.")
def build_cmd(record_dir: str, out: str, check: bool) -> None:
    """Re-execute and replay the entries, compute the reserved rows, score, write LEADERBOARD.md and the
    chart."""
    from a2gym.leaderboard.build import build

    with _progress("build", "episode") as bar:
        res = build(record_dir, out, check=check, progress=lambda n: bar.update(n))
    if check:
        if res.stale:
            click.echo(f"stale: {', '.join(res.stale)}; run `a2gym leaderboard build` and commit", err=True)
            sys.exit(1)
        click.echo(f"{out} is up to date")
    else:
        click.echo(f"wrote {out}")


@leaderboard_group.command("score")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--rerun", is_flag=True, help="Also re-execute each entry's policy.")
def score_cmd(files: tuple[str, ...], rerun: bool) -> None:
    """Print the score table of results FILES (replayed; the reference computed here); writes nothing."""
    from a2gym.leaderboard.build import score_files

    with _progress("score", "record") as bar:
        text = score_files(list(files), rerun=rerun, progress=lambda n: bar.update(n))
    click.echo(text)


@leaderboard_group.command("pin")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def pin_cmd(files: tuple[str, ...]) -> None:
    """Re-execute each code entry of FILES (identical actions required) and write into its header the
    digest of every repository file its policy loads (policy_files_sha256)."""
    from a2gym.leaderboard.rerun import pin_entry

    for f in files:
        click.echo(f"{f}: policy_files_sha256 {pin_entry(f)}")


def register(main: click.Group) -> None:
    main.add_command(eval_cmd)
    main.add_command(validate_cmd)
    main.add_command(leaderboard_group)
