"""``a2gym eval``, ``a2gym validate`` and ``a2gym leaderboard build`` (logic in :mod:`a2gym.leaderboard`)."""

from __future__ import annotations

import sys
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


@click.command("eval")
@click.option("--policy", "spec", required=True,
              help="reference | BASELINE (local, cheapest, random, ...) | MODULE:OBJECT | sb3:[ALGO:]PATH")
@click.option("--suite", "suite_name", default="a2-test-v0", show_default=True, help="Test suite.")
@click.option("--seeds", type=int, default=None, help="Seeds per scenario (suite default, at least 5).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Results file (JSONL).")
@click.option("--name", default=None, help="Leaderboard name of the entry (default: the policy spec).")
@click.option("--env", "env_ids", multiple=True, help="Only these env ids of the suite (repeatable).")
@click.option("--trained-on-test/--not-trained-on-test", default=None,
              help="Declare whether the policy was trained or tuned on the test scenarios (required for "
                   "MODULE:OBJECT and sb3 policies).")
@_ray_options
def eval_cmd(spec: str, suite_name: str, seeds: int | None, out: str, name: str | None,
             env_ids: tuple[str, ...], trained_on_test: bool | None, use_ray: bool, ray_address: str | None,
             ray_num_cpus: int | None) -> None:
    """Evaluate a policy on every scenario and seed of a suite; write one replay-checked record per
    episode."""
    from a2gym.leaderboard.evaluate import evaluate_suite, resolve_policy
    from a2gym.leaderboard.record import write_records
    from a2gym.leaderboard.suite import get_suite

    ray_args = _ray_args(use_ray, ray_address, ray_num_cpus)
    suite = get_suite(suite_name)
    envs = tuple(env_ids) or None
    for e in envs or ():
        suite.entry(e)
    if trained_on_test is None and not resolve_policy(spec)[2]:
        raise click.UsageError("declare --trained-on-test or --not-trained-on-test for a submitted policy")
    total = len(suite.episodes(seeds, envs))
    if ray_args is None:
        episodes = evaluate_suite(spec, suite, seeds, name, envs, trained_on_test)
    else:
        from a2gym.leaderboard.distributed import evaluate_suite_ray

        episodes = evaluate_suite_ray(spec, suite, seeds, name, envs, trained_on_test, **ray_args)
    records = list(tqdm(episodes, total=total, desc=f"eval {name or spec}", unit="episode", file=sys.stderr,
                        disable=None))
    path = write_records(out, records)
    click.echo(f"wrote {len(records)} records to {path}")


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_ray_options
def validate_cmd(
    files: tuple[str, ...], use_ray: bool, ray_address: str | None, ray_num_cpus: int | None
) -> None:
    """Replay every record of FILES in fresh envs; exit 1 naming file:line of every mismatch."""
    from a2gym.leaderboard.validate import validate_files

    ray_args = _ray_args(use_ray, ray_address, ray_num_cpus)
    with tqdm(desc="validate", unit="record", file=sys.stderr, leave=False, disable=None) as bar:
        if ray_args is None:
            good, problems = validate_files(files, progress=lambda n: bar.update(1))
        else:
            from a2gym.leaderboard.distributed import validate_files_ray

            good, problems = validate_files_ray(files, lambda n: bar.update(1), **ray_args)
    for p in problems:
        click.echo(p, err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s); {len(good)} record(s) valid", err=True)
        sys.exit(1)
    click.echo(f"{len(good)} record(s) in {len(files)} file(s) replay exactly")


@click.group("leaderboard")
def leaderboard_group() -> None:
    """Generate LEADERBOARD.md from the committed, validated records."""


@leaderboard_group.command("build")
@click.option(
    "--dir",
    "record_dir",
    default="leaderboard",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder of the committed records (*.jsonl); the chart and bound cache go here too.",
)
@click.option("--out", default="LEADERBOARD.md", show_default=True, type=click.Path(dir_okay=False))
@click.option(
    "--check", is_flag=True, help="Write nothing; exit 1 if LEADERBOARD.md (or the bound cache) is stale."
)
def build_cmd(record_dir: str, out: str, check: bool) -> None:
    """Validate the records, score them and write LEADERBOARD.md and the chart (byte-for-byte
    deterministic)."""
    from a2gym.leaderboard.build import build

    with tqdm(desc="validate", unit="record", file=sys.stderr, leave=False, disable=None) as bar:
        res = build(record_dir, out, check=check, progress=lambda n: bar.update(1))
    if check:
        if res.stale:
            click.echo(f"stale: {', '.join(res.stale)}; run `a2gym leaderboard build` and commit", err=True)
            sys.exit(1)
        click.echo(f"{out} is up to date")
    else:
        click.echo(f"wrote {out}")


def register(main: click.Group) -> None:
    main.add_command(eval_cmd)
    main.add_command(validate_cmd)
    main.add_command(leaderboard_group)
