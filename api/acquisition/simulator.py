"""The bundled simulator as the service's device: its URL, and the simulated subjects to choose from.

``simulator`` (the default device) is the in-process ``sim://`` device at real-time speed.
The simulated subject's joint and side are options of the ``sim://`` URL (the device
protocol has no command for them), so before a trial the service reopens the URL with
the trial's ``joint=`` and ``side=`` (:func:`sim_url`); the subject's profile is the
``profile=`` option, a JSON file: a bundled one (``simulators/profiles/``) or one
uploaded through the API and kept in ``<data dir>/simulator-profiles/``. Through the
service a profile is always a *name* (:func:`split_profile`); only the device manager
turns a name into its file's path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from api.errors import ConflictError, InvalidInputError, NotFoundError
from simulators.profile import SubjectProfile
from simulators.urlhandler.protocol_sim import parse_sim_url

__all__ = [
    "DEFAULT_PROFILE",
    "SIMULATOR",
    "SIMULATOR_URL",
    "PROFILE_NAME_PATTERN",
    "SimulatorProfile",
    "SimulatorProfiles",
    "is_simulator",
    "sim_url",
    "split_profile",
]

#: The device name that means "the bundled simulator".
SIMULATOR = "simulator"
#: What ``simulator`` opens: the in-process simulated device at real-time speed.
SIMULATOR_URL = "sim://?speed=1"
#: The bundled profile used when none is chosen (weak left hamstrings, see ``simulators.profile``).
DEFAULT_PROFILE = "default"
#: Names of uploaded profiles: letters, digits, ``-``, ``_`` and ``.``, not starting with a dot.
PROFILE_NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}$"


def is_simulator(url: str) -> bool:
    """Whether a device URL is the bundled simulator (``simulator`` or any ``sim://`` URL)."""
    return url == SIMULATOR or url.lower().startswith("sim://")


def split_profile(url: str) -> tuple[str, str | None]:
    """A ``sim://`` URL without its ``profile`` option, and that option: a profile *name*.

    The service names profiles (``api.device_urls`` refused anything else); the path of
    the named profile's file is put back by the device manager when it opens the URL.
    Other URLs come back unchanged, with ``None``.
    """
    if not is_simulator(url) or url == SIMULATOR:
        return url, None
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    name = query.pop("profile", None)
    if name is None:
        return url, None
    return "sim://?" + urlencode(sorted(query.items())), name


def sim_url(url: str, **options: str | None) -> str:
    """A ``sim://`` URL with ``options`` set (``None`` removes one); ``simulator`` means :data:`SIMULATOR_URL`.

    Raises
    ------
    ValueError
        When the URL or an option is not one the simulator accepts.
    """
    base = SIMULATOR_URL if url == SIMULATOR else url
    query = dict(parse_qsl(urlsplit(base).query, keep_blank_values=True))
    for key, value in options.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    out = "sim://?" + urlencode(sorted(query.items()))
    parse_sim_url(out)
    return out


@dataclass(frozen=True)
class SimulatorProfile:
    """A simulated subject the service can use."""

    name: str
    description: str
    source: Literal["bundled", "uploaded"]
    path: Path


def _bundled_dir() -> Path:
    return Path(str(resources.files("simulators") / "profiles"))


def _describe(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    description = data.get("description", "") if isinstance(data, dict) else ""
    return description if isinstance(description, str) else ""


class SimulatorProfiles:
    """The bundled profiles and those uploaded to ``upload_dir`` (created on the first upload)."""

    def __init__(self, upload_dir: Path) -> None:
        self.upload_dir = upload_dir

    def list(self) -> list[SimulatorProfile]:
        """Bundled profiles first, then uploaded ones, each by name."""
        out = [
            SimulatorProfile(p.stem, _describe(p), "bundled", p) for p in sorted(_bundled_dir().glob("*.json"))
        ]
        if self.upload_dir.is_dir():
            out += [
                SimulatorProfile(p.stem, _describe(p), "uploaded", p) for p in sorted(self.upload_dir.glob("*.json"))
            ]
        return out

    def get(self, name: str) -> SimulatorProfile:
        """The profile called ``name`` (:class:`NotFoundError` if there is none)."""
        for profile in self.list():
            if profile.name == name:
                return profile
        raise NotFoundError("simulator profile", name)

    def save(self, name: str, data: dict[str, Any]) -> SimulatorProfile:
        """Check a profile (:class:`InvalidInputError` naming the bad field) and keep it under ``name``, replacing an upload.

        Raises
        ------
        ConflictError
            When ``name`` is a bundled profile's.
        """
        if not re.match(PROFILE_NAME_PATTERN, name):
            raise InvalidInputError("name", f"profile name {name[:64]!r}: use letters, digits, '-', '_' and '.' (at most 64)")
        if any(p.name == name and p.source == "bundled" for p in self.list()):
            raise ConflictError(f"simulator profile {name!r} is bundled and read-only; upload under another name")
        try:
            profile = SubjectProfile.from_dict(data)
        except (TypeError, KeyError, AttributeError, ValueError) as err:
            raise InvalidInputError("profile", f"not a simulator profile ({err})") from err
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        path = self.upload_dir / f"{name}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(profile.to_dict(), indent=2), encoding="utf-8")
        tmp.replace(path)
        return SimulatorProfile(name, profile.description, "uploaded", path)
