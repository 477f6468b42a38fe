"""Time to print a two-side session: the report as JSON, as the page's HTML, and as the PDF.

One command::

    python bench/bench_report_pdf.py [--repeat 5]

It builds, in-process on a temporary SQLite database, a session holding the built-in knee
protocol on both sides (con/con 60 x 5, 180 x 10, 300 x 15 deg/s per side, simulated at
1 kHz), then times ``GET /sessions/{id}/report`` (the JSON, analyses cached after the first
call), ``.../report.html`` (tables and SVG figures) and ``.../report.pdf`` (the same laid out
by WeasyPrint). It prints the best of ``--repeat`` for each, and the HTML and PDF as ratios
to the JSON measured in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from api.security import Role, create_token
from api.settings import Settings
from daq.recording import Recording, write_recording
from simulators.model import SetProtocol, default_profile, simulate_set

SETS = ((60, 5), (180, 10), (300, 15))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each request; the best is printed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), device="none")
        app = create_app(settings)
        with TestClient(app) as client:
            with app.state.database.session() as session:
                _, token = create_token(session, role=Role.operator, name="bench")
                session.commit()
            headers = {"Authorization": f"Bearer {token}"}
            subject = client.post("/api/v1/subjects", json={"code": "BENCH", "body_mass_kg": 75, "involved_side": "left"},
                                  headers=headers).json()  # fmt: skip
            session_id = client.post("/api/v1/sessions", json={"subject_id": subject["id"]}, headers=headers).json()["id"]
            for side in ("left", "right"):
                for velocity, reps in SETS:
                    sim = simulate_set(default_profile(), SetProtocol(joint="knee", side=side, velocity_dps=float(velocity),
                                                                      repetitions=reps), sample_rate_hz=1000.0, seed=1)  # fmt: skip
                    path = Path(tmp) / f"{side}-{velocity}.csv"
                    metadata = {"joint": "knee", "side": side, "mode": "con/con", "velocity_dps": str(velocity), "repetitions": str(reps),
                                "gravity_torque_nm": str(sim.truth.gravity_torque_nm), "horizontal_angle_deg": "0"}  # fmt: skip
                    write_recording(path, Recording(sim.time_s, sim.torque_nm, sim.position_deg, sim.velocity_dps, metadata=metadata))
                    r = client.post(f"/api/v1/sessions/{session_id}/imports", files={"file": (path.name, path.read_bytes())},
                                    headers=headers)  # fmt: skip
                    r.raise_for_status()
            client.get(f"/api/v1/sessions/{session_id}/report", headers=headers).raise_for_status()  # analyse once
            best: dict[str, float] = {}
            sizes: dict[str, int] = {}
            for name in ("report", "report.html", "report.pdf"):
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    r = client.get(f"/api/v1/sessions/{session_id}/{name}", headers=headers)
                    elapsed = time.perf_counter() - started
                    r.raise_for_status()
                    best[name] = min(best.get(name, elapsed), elapsed)
                    sizes[name] = len(r.content)
    print(f"two-side knee session: {2 * len(SETS)} trials, {2 * sum(r for _, r in SETS)} repetitions per direction in all")
    for name, seconds in best.items():
        ratio = seconds / best["report"]
        print(f"  GET .../{name:12s} best {seconds * 1000:7.0f} ms  ({ratio:5.1f} x the JSON)  {sizes[name] / 1024:7.0f} KiB")


if __name__ == "__main__":
    main()
