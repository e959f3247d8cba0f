"""Export the leaderboard test suite's scenario files and pin them in the bundled manifest.

Run from the repository root::

    python scripts/build_suite.py          # write a2gym/data/scenarios/a2-test-v0/*.json + MANIFEST.json
    python scripts/build_suite.py --check  # exit 1 if a file or manifest entry would change

Every scenario named in :data:`a2gym.leaderboard.suite.SOURCES` is loaded from its source URI (the
bundled default scenario, or a seeded ``generator://synth-v0`` URI) and saved with ``Scenario.save``
as ``a2gym/data/scenarios/<name>.json``; its SHA-256 is pinned in ``MANIFEST.json`` under ``<name>``.
Other manifest entries are kept. Deterministic: rerunning gives byte-identical files.

Once committed, the files are the test suite: if a source changes (new data tables, a new generator),
rerunning this script changes the pinned hashes, which is a new suite version (``a2-test-v1``), not an
edit of ``a2-test-v0``. ``--check`` guards against that by accident.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "a2gym" / "data" / "scenarios"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything would change")
    args = ap.parse_args(argv)

    from a2gym import load_scenario
    from a2gym.fileio import atomic_write_text
    from a2gym.leaderboard.suite import SOURCES

    manifest_path = SCENARIOS / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    changed: list[str] = []
    for name, source in sorted(SOURCES.items()):
        scn = load_scenario(source)
        path = SCENARIOS / f"{name}.json"
        if manifest.get(name) != scn.sha256 or not path.exists():
            changed.append(f"{name}: {manifest.get(name, 'unpinned')} -> {scn.sha256} (from {source})")
        if not args.check:
            scn.save(path)
        manifest[name] = scn.sha256
        print(f"{name:28s} {scn.sha256}  K={scn.n_regions} M={scn.n_models} D={scn.n_data_versions} "
              f"H={scn.n_instance_types} R={scn.n_classes}  <- {source}")
    if args.check:
        for c in changed:
            print(f"would change: {c}", file=sys.stderr)
        return 1 if changed else 0
    # re-read just before writing so entries another script added meanwhile are kept
    current = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    current.update({n: manifest[n] for n in SOURCES})
    atomic_write_text(manifest_path, json.dumps(dict(sorted(current.items())), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
