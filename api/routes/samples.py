"""``/trials/{id}/samples``: a trial's samples as JSON columns (paged) or as the recording CSV (streamed)."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from api.acquisition.export import iter_trial_csv
from api.deps import DatabaseDep, IdPath, SessionDep, ViewerDep
from api.errors import InvalidInputError
from api.routes.common import AUTH_ERRORS, NOT_FOUND, get_or_404
from api.schemas.samples import MAX_SAMPLES_PER_PAGE, SamplesPublic
from api.storage.models import Trial
from api.storage.samples import iter_samples

__all__ = ["router"]

router = APIRouter(tags=["samples"], responses=AUTH_ERRORS)

TimeQuery = Query(ge=0, le=1e7, description="keep samples with time_s >= start_s (or <= end_s), s")


@router.get(
    "/trials/{trial_id}/samples",
    response_model=SamplesPublic,
    responses=NOT_FOUND
    | {
        200: {
            "description": "JSON columns, or with format=csv the recording CSV ('# key: value' metadata lines, "
            "then time_s,torque_nm,position_deg,velocity_dps,status,sequence, with '# ...' event notes at their place)",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    },
    summary="A trial's samples in a time range: JSON columns (paged) or the recording CSV (streamed, whole range)",
)
def read_samples(
    trial_id: IdPath,
    session: SessionDep,
    database: DatabaseDep,
    _: ViewerDep,
    start_s: Annotated[float | None, TimeQuery] = None,
    end_s: Annotated[float | None, TimeQuery] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json: columns; csv: the recording CSV layout")] = "json",
    limit: Annotated[
        int, Query(ge=1, le=MAX_SAMPLES_PER_PAGE, description="JSON: most samples returned; follow next_start_s for more")
    ] = 10_000,
) -> Response:
    get_or_404(session, Trial, trial_id, "trial")
    if start_s is not None and end_s is not None and end_s < start_s:
        raise InvalidInputError("end_s", f"{end_s:g} must not be below start_s ({start_s:g})", location="query")
    if format == "csv":
        return StreamingResponse(
            iter_trial_csv(database, trial_id, start_s=start_s, end_s=end_s),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="trial-{trial_id}.csv"'},
        )
    blocks, count = [], 0
    for block in iter_samples(session, trial_id, start_s=start_s, end_s=end_s):
        blocks.append(block)
        count += len(block)
        if count > limit:
            break
    columns = {
        name: np.concatenate([getattr(b, name) for b in blocks]) if blocks else np.empty(0)
        for name in ("time_s", "torque_nm", "position_deg", "velocity_dps", "status", "sequence", "device_time_us")
    }
    more = len(columns["time_s"]) > limit
    body = {
        "trial_id": trial_id,
        "count": min(count, limit),
        "next_start_s": float(columns["time_s"][limit]) if more else None,
        **{name: column[:limit].tolist() for name, column in columns.items()},
    }
    return JSONResponse(body)
