"""``/device``: the device's state and counters, connecting another one, and the simulated subject."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.acquisition.service import AcquisitionService
from api.deps import AcquisitionDep, OperatorDep, ViewerDep
from api.routes.common import AUTH_ERRORS, BAD_BODY, NOT_FOUND
from api.schemas.common import ErrorPublic
from api.schemas.device import (
    DeviceConnect,
    DevicePublic,
    SimulatorProfileChoose,
    SimulatorProfilePublic,
    SimulatorProfilesPublic,
)

__all__ = ["DEVICE_ERRORS", "router"]

router = APIRouter(prefix="/device", tags=["device"], responses=AUTH_ERRORS)


#: Errors of routes that talk to the device.
DEVICE_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorPublic, "description": "the device refused, cannot be opened, or a trial is using it"},
    503: {"model": ErrorPublic, "description": "no device is connected (or it is still connecting)"},
    504: {"model": ErrorPublic, "description": "the device did not answer in time"},
}


def device_public(service: AcquisitionService) -> DevicePublic:
    """The device as the API shows it."""
    return DevicePublic.of(service.device_snapshot(), busy_with=service.busy_with())


@router.get("", response_model=DevicePublic, summary="Device state, identity, calibration and acquisition counters")
def read_device(service: AcquisitionDep, _: ViewerDep) -> DevicePublic:
    return device_public(service)


@router.post(
    "/connect",
    response_model=DevicePublic,
    responses=BAD_BODY | DEVICE_ERRORS,
    summary="Connect a device (or the simulator) in place of the current one",
)
def connect_device(body: DeviceConnect, service: AcquisitionDep, _: OperatorDep) -> DevicePublic:
    service.connect(body.url, protocol=body.protocol, calibration=body.calibration)
    return device_public(service)


@router.post("/disconnect", response_model=DevicePublic, responses=DEVICE_ERRORS, summary="Close the device")
def disconnect_device(service: AcquisitionDep, _: OperatorDep) -> DevicePublic:
    service.disconnect()
    return device_public(service)


@router.get(
    "/simulator/profiles", response_model=SimulatorProfilesPublic, summary="Simulated subjects to choose from"
)
def list_simulator_profiles(service: AcquisitionDep, _: ViewerDep) -> SimulatorProfilesPublic:
    active = service.device_snapshot().simulator_profile
    data = [
        SimulatorProfilePublic(name=p.name, description=p.description, source=p.source, active=p.name == active)
        for p in service.profiles.list()
    ]
    return SimulatorProfilesPublic(data=data, count=len(data))


@router.put(
    "/simulator/profile",
    response_model=DevicePublic,
    responses=BAD_BODY | NOT_FOUND | DEVICE_ERRORS,
    summary="Choose the simulated subject by name, or upload a profile (the simulator is reopened with it)",
)
def choose_simulator_profile(body: SimulatorProfileChoose, service: AcquisitionDep, _: OperatorDep) -> DevicePublic:
    if body.profile is not None:
        service.profiles.save(body.name, body.profile)
    service.set_simulator_profile(body.name)
    return device_public(service)
