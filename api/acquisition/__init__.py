"""Acquisition inside the service: the device, trials recorded into the database, live display, weighing.

- :mod:`api.acquisition.simulator`: ``simulator`` as a device URL and the simulated subjects' profiles.
- :mod:`api.acquisition.device`: :class:`DeviceManager`, the one connected device and its state.
- :mod:`api.acquisition.plan`: :class:`TrialPlan`, what a trial asks of the device.
- :mod:`api.acquisition.recording`: :class:`TrialRecording`, the thread writing a trial to the database.
- :mod:`api.acquisition.movements`, :mod:`api.acquisition.live`, :mod:`api.acquisition.weighing`:
  counting a sampling board's movements, display decimation, limb weighing (pure numpy).
- :mod:`api.acquisition.export`: a stored trial as the recording CSV (metadata lines, rows, event notes).
- :mod:`api.acquisition.service`: :class:`AcquisitionService`, which ties them together for the routes.
"""

from api.acquisition.device import DeviceManager, DeviceSnapshot, DeviceState
from api.acquisition.export import iter_trial_csv, trial_metadata
from api.acquisition.live import LIVE_RATE_HZ, LiveBins, LiveBuffer, decimate
from api.acquisition.movements import MovementCounter
from api.acquisition.plan import TrialPlan
from api.acquisition.recording import End, Figures, TrialRecording
from api.acquisition.service import AcquisitionService, default_rom_deg
from api.acquisition.simulator import SIMULATOR, SimulatorProfile, SimulatorProfiles, is_simulator, sim_url
from api.acquisition.weighing import Weighing, record_weighing, weigh_limb

__all__ = [
    "LIVE_RATE_HZ",
    "SIMULATOR",
    "AcquisitionService",
    "DeviceManager",
    "DeviceSnapshot",
    "DeviceState",
    "End",
    "Figures",
    "LiveBins",
    "LiveBuffer",
    "MovementCounter",
    "SimulatorProfile",
    "SimulatorProfiles",
    "TrialPlan",
    "TrialRecording",
    "Weighing",
    "decimate",
    "default_rom_deg",
    "is_simulator",
    "iter_trial_csv",
    "record_weighing",
    "sim_url",
    "trial_metadata",
    "weigh_limb",
]
