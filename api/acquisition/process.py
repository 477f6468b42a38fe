"""The acquisition in a process of its own, so no request can take the CPU's attention from a recording.

A Python process runs one thread at a time (the GIL): in the web server's process, a few
CPU-bound requests (a report, a large JSON page, an import) delay the recording thread by
hundreds of milliseconds (measured: two busy threads delayed a 10 ms timer by 600 ms at the
median). So ``isokin serve`` runs :class:`~api.acquisition.service.Acquisition` (the device,
the driver's reader thread, the recording loop and its database sink) in a child process and
talks to it over a pipe: :class:`AcquisitionProcess` has the same methods and forwards each
call; the child runs each in a thread of its own and sends back the result, or the error
(rebuilt in the server as the same class, so the error map answers as before).

Lifetimes: the server starts the child when it starts and tells it to shut down when it stops
(a running trial ends ``interrupted``, as before). If the server dies (SIGKILL), the child sees
its pipe close, ends the running trial as ``interrupted`` with every sample it received stored,
and exits. If the child dies, the server closes what it left recording (``interrupted``) and
starts another at the next request. The child ignores SIGINT and SIGTERM: Ctrl-C in a terminal
reaches both processes, and the server orchestrates the shutdown.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from analysis.weighing import Weighing
from api.acquisition.device import DeviceSnapshot, DeviceState
from api.acquisition.recording import SHUTDOWN
from api.acquisition.service import Acquisition, LiveView
from api.errors import ServiceError
from api.settings import Settings
from api.storage.database import Database
from daq.recorder import INTERRUPTED, End

__all__ = ["AcquisitionProcess", "AcquisitionProcessError", "serve_acquisition"]

log = logging.getLogger(__name__)

#: Longest wait for the child to start (imports, database connection), seconds.
START_TIMEOUT_S = 60.0
#: Longest wait for any call's answer: longer than the slowest call (a stop waits 15 s for the last commit).
CALL_TIMEOUT_S = 90.0
#: Threads of the acquisition process that answer the server's calls.
CALL_THREADS = 8
#: The end of a trial whose server process disappeared.
SERVER_GONE = End(INTERRUPTED, "the server process stopped during the trial")
#: Packages whose error classes are rebuilt in the server (anything else becomes an AcquisitionProcessError).
_ERROR_PACKAGES = ("api.", "daq.", "analysis.", "firmware_protocols.", "simulators.")


class AcquisitionProcessError(RuntimeError):
    """The acquisition process failed or is gone (an internal error: answered 500 with an error id)."""


class AcquisitionProcess:
    """:class:`~api.acquisition.service.Acquisition` in a child process, behind the same methods.

    Parameters
    ----------
    settings
        The server's settings (the child opens the same database and device).
    on_exit
        Called (in a thread of the server) with the reason when the child ends other than by
        :meth:`shutdown`.
    """

    def __init__(self, settings: Settings, *, on_exit: Callable[[str], None] = lambda _: None) -> None:
        self._on_exit = on_exit
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        level = logging.getLogger().getEffectiveLevel()
        self._process = context.Process(
            target=serve_acquisition, args=(child, settings, level), name="isokin-acquisition", daemon=True
        )
        self._process.start()
        child.close()
        self._send_lock = threading.Lock()
        self._pending: dict[int, Future[Any]] = {}
        self._pending_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closing = False
        if not self._conn.poll(START_TIMEOUT_S):
            self._process.kill()
            raise AcquisitionProcessError(f"the acquisition process did not start within {START_TIMEOUT_S:g} s")
        ready = self._conn.recv()
        if ready[0] != "ready":
            self._process.join(5)
            raise AcquisitionProcessError(f"the acquisition process could not start: {ready[1]}")
        self.pid = int(ready[1])
        self._reader = threading.Thread(target=self._read, name="isokin-acquisition-pipe", daemon=True)
        self._reader.start()

    # --- the pipe ---------------------------------------------------------------------------

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        future: Future[Any] = Future()
        call_id = next(self._ids)
        with self._pending_lock:
            if self._closing and method != "shutdown":
                raise AcquisitionProcessError("the acquisition process is shutting down")
            self._pending[call_id] = future
        try:
            with self._send_lock:
                self._conn.send((call_id, method, args, kwargs))
        except (OSError, EOFError, BrokenPipeError) as err:
            with self._pending_lock:
                self._pending.pop(call_id, None)
            raise AcquisitionProcessError(f"the acquisition process is gone ({err})") from err
        try:
            return future.result(timeout=CALL_TIMEOUT_S)
        except TimeoutError:
            with self._pending_lock:
                self._pending.pop(call_id, None)
            raise AcquisitionProcessError(f"the acquisition process did not answer {method} within {CALL_TIMEOUT_S:g} s") from None

    def _read(self) -> None:
        """Hand each answer to its caller (reader thread); the child's end fails the calls still waiting."""
        why = "its pipe closed"
        try:
            while True:
                call_id, ok, payload = self._conn.recv()
                with self._pending_lock:
                    future = self._pending.pop(call_id, None)
                if future is None:
                    continue
                if ok:
                    future.set_result(payload)
                else:
                    future.set_exception(_rebuild(payload))
        except (EOFError, OSError) as err:
            why = f"its pipe closed ({type(err).__name__})"
        self._process.join(5)
        if self._process.exitcode not in (None, 0):
            why = f"exit code {self._process.exitcode}"
        with self._pending_lock:
            pending, self._pending = self._pending, {}
            closing = self._closing
        for future in pending.values():
            future.set_exception(AcquisitionProcessError(f"the acquisition process stopped ({why})"))
        if not closing:
            self._on_exit(why)

    # --- the acquisition's methods ------------------------------------------------------------

    def connect_startup_device(self) -> None:
        self._call("connect_startup_device")

    def restore_device(self, url: str, *, protocol: str, calibration: str | None, profile: str | None) -> None:
        self._call("restore_device", url, protocol=protocol, calibration=calibration, profile=profile)

    def shutdown(self, end: End = SHUTDOWN) -> None:
        """End a running trial as ``end``, close the device, and let the child exit."""
        with self._pending_lock:
            self._closing = True
        try:
            self._call("shutdown", end)
        except (AcquisitionProcessError, TimeoutError) as err:
            log.warning("the acquisition process did not shut down cleanly: %s", err)
        self._process.join(20)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
        self._conn.close()

    def busy_with(self) -> int | None:
        result: int | None = self._call("busy_with")
        return result

    def device_snapshot(self) -> DeviceSnapshot:
        result: DeviceSnapshot = self._call("device_snapshot")
        return result

    def device_state(self) -> DeviceState:
        result: DeviceState = self._call("device_state")
        return result

    def live_view(self, trial_id: int, since: int) -> tuple[LiveView | None, DeviceState]:
        result: tuple[LiveView | None, DeviceState] = self._call("live_view", trial_id, since)
        return result

    def connect(self, url: str, *, protocol: str = "binary", calibration: str | None = None) -> DeviceSnapshot:
        result: DeviceSnapshot = self._call("connect", url, protocol=protocol, calibration=calibration)
        return result

    def disconnect(self) -> DeviceSnapshot:
        result: DeviceSnapshot = self._call("disconnect")
        return result

    def set_simulator_profile(self, name: str) -> DeviceSnapshot:
        result: DeviceSnapshot = self._call("set_simulator_profile", name)
        return result

    def start(self, trial_id: int) -> None:
        self._call("start", trial_id)

    def stop(self, trial_id: int) -> None:
        self._call("stop", trial_id)

    def weigh(self, trial_id: int, *, duration_s: float, horizontal_angle_deg: float, angle_deg: float | None) -> Weighing:
        result: Weighing = self._call(
            "weigh", trial_id, duration_s=duration_s, horizontal_angle_deg=horizontal_angle_deg, angle_deg=angle_deg
        )
        return result


#: The methods the server may call in the child.
_METHODS = frozenset(
    {
        "connect_startup_device",
        "restore_device",
        "shutdown",
        "busy_with",
        "device_snapshot",
        "device_state",
        "live_view",
        "connect",
        "disconnect",
        "set_simulator_profile",
        "start",
        "stop",
        "weigh",
    }
)


def _describe(error: BaseException) -> tuple[str, str, str, dict[str, Any]]:
    """An error as (module, class name, message, attributes) that the server can rebuild."""
    attrs = {k: v for k, v in vars(error).items() if isinstance(v, (str, int, float, bool, type(None)))}
    return type(error).__module__, type(error).__qualname__, str(error), attrs


def _rebuild(payload: tuple[str, str, str, dict[str, Any]]) -> BaseException:
    """The error the child described, as the same class in this process (its ``__init__`` is not run again)."""
    module, name, message, attrs = payload
    cls: Any = None
    if module.startswith(_ERROR_PACKAGES) or (module == "builtins" and name in ("ValueError", "TimeoutError")):
        try:
            cls = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            cls = None
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        return AcquisitionProcessError(f"{name}: {message}")
    error: BaseException = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(attrs)
    return error


def serve_acquisition(conn: Connection, settings: Settings, log_level: int = logging.INFO) -> None:
    """The child process: run an :class:`~api.acquisition.service.Acquisition` and answer the server's calls."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server orchestrates every shutdown
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=log_level, format="isokin acquisition: %(levelname)s %(name)s: %(message)s")
    try:
        database = Database(settings.resolved_database_url, pool_size=2)
        acquisition = Acquisition(database, settings)
    except Exception as err:  # the server reports it and starts without an acquisition
        conn.send(("failed", f"{type(err).__name__}: {err}"))
        return
    conn.send(("ready", os.getpid()))
    send_lock = threading.Lock()
    done = threading.Event()

    def answer(call_id: int, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            if method not in _METHODS:
                raise AcquisitionProcessError(f"no such acquisition method: {method}")
            reply: tuple[int, bool, Any] = (call_id, True, getattr(acquisition, method)(*args, **kwargs))
        except Exception as err:
            if not isinstance(err, (ServiceError, ValueError)):
                log.debug("call %s failed", method, exc_info=err)
            reply = (call_id, False, _describe(err))
        try:
            with send_lock:
                conn.send(reply)
        except (OSError, EOFError):
            pass
        if method == "shutdown":
            done.set()

    # A few threads answer the calls (a stop or a weighing waits while others are answered); the
    # recording has its own threads and never waits for these.
    calls = ThreadPoolExecutor(max_workers=CALL_THREADS, thread_name_prefix="isokin-call")
    try:
        while not done.is_set():
            if not conn.poll(0.2):
                continue
            call_id, method, args, kwargs = conn.recv()
            calls.submit(answer, call_id, method, args, kwargs)
    except (EOFError, OSError):  # the server is gone: end the trial with what was received, then leave
        log.warning("the server process is gone: ending the acquisition")
        acquisition.shutdown(SERVER_GONE)
    finally:
        calls.shutdown(wait=False, cancel_futures=True)
        database.close()
