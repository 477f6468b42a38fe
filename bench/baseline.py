"""Measuring against a git revision in the same run (used by the benchmarks' ``--baseline REV``).

The revision's packages are exported with ``git archive`` into a temporary tree, and the
benchmark runs its own measurement again in a child process whose ``PYTHONPATH`` puts that
tree first; the current working tree is measured the same way, so both figures come from
identical child processes on the same machine within minutes of each other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def export(rev: str, packages: list[str], into: Path) -> Path:
    """The ``packages`` (top-level folders) of git revision ``rev``, extracted under ``into``."""
    archive = into / f"{rev}.tar"
    with open(archive, "wb") as f:
        subprocess.run(["git", "-C", str(REPO), "archive", rev, *packages], stdout=f, check=True)
    tree = into / rev
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def run_child(script: Path, args: list[str], tree: Path) -> list[dict[str, Any]]:
    """Run ``script --child ARGS`` with ``tree``'s packages first on the path; the JSON lines it prints.

    Each line carries ``"packages"``, the folder the child imported ``daq`` or ``firmware_protocols``
    from; it must be ``tree`` (an editable install must not win over the exported revision).
    """
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, str(script), "--child", *args], env=env, cwd=tree, check=True,
                         stdout=subprocess.PIPE, text=True)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    for row in rows:
        if Path(row["packages"]).resolve() != tree.resolve():
            raise RuntimeError(f"the child measured the packages in {row['packages']}, not {tree}")
    return rows


def loadavg() -> str:
    """The machine's load averages (1, 5, 15 min), to print beside every figure."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])

