"""pyserial URL handlers of the simulator: ``sim://`` opens an in-process simulated device.

Registered by :func:`simulators.register_url_handler`; see
:mod:`simulators.urlhandler.protocol_sim` for the URL's options.
"""

from simulators.urlhandler.protocol_sim import Serial, find_session, parse_sim_url

__all__ = ["Serial", "find_session", "parse_sim_url"]
