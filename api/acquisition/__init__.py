"""Acquisition inside the service: the device, trials recorded into the database, live display, weighing.

- :mod:`api.acquisition.simulator`: ``simulator`` as a device URL and the simulated subjects' profiles.
- :mod:`api.acquisition.device`: :class:`DeviceManager`, the one connected device and its state.
- :mod:`api.acquisition.recording`: :class:`TrialRecording`, the recording loop of ``daq.recorder`` with a
  database sink and a live sink.
- :mod:`api.acquisition.live`: display decimation.
- :mod:`api.acquisition.export`: a stored trial as the recording CSV (the writer of ``daq.recording``).
- :mod:`api.acquisition.service`: :class:`AcquisitionService`, which ties them together for the routes,
  and limb weighing through the same loop.
"""

from api.acquisition.device import DeviceManager, DeviceSnapshot, DeviceState
from api.acquisition.export import iter_trial_csv, trial_metadata
from api.acquisition.live import LIVE_RATE_HZ, LiveBins, LiveBuffer, decimate
from api.acquisition.recording import DatabaseSink, LiveSink, TrialRecording
from api.acquisition.service import AcquisitionService, default_rom_deg, record_weighing, trial_plan
from api.acquisition.simulator import SIMULATOR, SimulatorProfile, SimulatorProfiles, is_simulator, sim_url

__all__ = [
    "LIVE_RATE_HZ",
    "SIMULATOR",
    "AcquisitionService",
    "DatabaseSink",
    "DeviceManager",
    "DeviceSnapshot",
    "DeviceState",
    "LiveBins",
    "LiveBuffer",
    "LiveSink",
    "SimulatorProfile",
    "SimulatorProfiles",
    "TrialRecording",
    "decimate",
    "default_rom_deg",
    "is_simulator",
    "iter_trial_csv",
    "record_weighing",
    "sim_url",
    "trial_metadata",
    "trial_plan",
]
