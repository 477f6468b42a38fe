"""The user-facing edge: the ``isokin`` command line (``api.cli``) and, later, the REST service.

Only this package reads the environment; everything below it takes explicit arguments.
"""

__all__: list[str] = []
