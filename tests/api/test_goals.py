"""Goal defaults from flag thresholds given in the query: any accepted threshold is a goal that can be set."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.schemas.analysis_query import AnalysisQuery


def _largest(name: str) -> float:
    field = AnalysisQuery.model_fields[name]
    return next(m.le for m in field.metadata if getattr(m, "le", None) is not None)


def test_the_largest_accepted_threshold_proposes_a_goal_that_can_be_set_and_beyond_it_is_a_422(
    client: TestClient, headers: dict
) -> None:
    subject = client.post("/api/v1/subjects", json={"code": "G-01"}, headers=headers["operator"]).json()
    url = f"/api/v1/subjects/{subject['id']}/goals"
    for name in ("lsi_min_percent", "deficit_possible_percent", "hq_conventional_min", "mixed_ratio_min"):
        largest = _largest(name)
        r = client.get(f"{url}/defaults", params={name: largest}, headers=headers["viewer"])
        assert r.status_code == 200, (name, r.text)
        proposed = [g for g in r.json()["data"] if g["target"] == largest]
        assert proposed, name
        assert client.post(url, json=proposed[0], headers=headers["operator"]).status_code == 201
        beyond = client.get(f"{url}/defaults", params={name: largest * 1.5}, headers=headers["viewer"])
        assert beyond.status_code == 422 and beyond.json()["detail"][0]["loc"] == ["query", name], beyond.text

