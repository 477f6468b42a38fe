"""Every figure the analysis reports is the one frozen in ``fixtures/figures.json.gz`` (see ``fixtures/make_figures.py``).

The validation grid's simulated sets and the real exports, run through the full analysis (``analyze_recording``,
``compare``, ``build_report``; the real files through ``isokin analyze``'s functions), must give the same
repetitions, sets, ratios, deficits, flags, warnings, null reasons and verdict: strings, integers, booleans and
nulls exactly, floats to 1e-9 relative. A change of how the analysis computes (vectorising, filtering once) must not
move any of them; a change meant to move them regenerates the fixture and says why.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
import make_figures  # noqa: E402

pytest.importorskip("simulators.model")
FROZEN = make_figures.load_fixture()["cases"]


def test_the_fixture_holds_every_case():
    names = make_figures.case_names()
    assert set(FROZEN) == set(names) | ({n for n in FROZEN if n.startswith("real ")} if not make_figures.REAL.is_dir() else set())


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_figures_unchanged(name):
    if name.startswith("real ") and not make_figures.REAL.is_dir():
        pytest.skip("shared/data/real is not available")
    found = list(make_figures.differences(FROZEN[name], make_figures.compute(name)))
    assert not found, f"{len(found)} figures moved, e.g.\n" + "\n".join(found[:20])
