"""The user-facing edge: the ``isokin`` command line (``api.cli``) and the REST service.

The service is built by :func:`api.main.create_app` (see ``api/README.md``). Only this
package reads the environment (:mod:`api.settings`); everything below it takes explicit
arguments.
"""

__all__: list[str] = []
