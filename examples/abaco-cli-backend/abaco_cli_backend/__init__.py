"""An abaco container backend that drives Docker through the ``docker`` command-line client.

An example of a third-party plugin: it uses only what ``abaco_core`` exports, registers through
the ``abaco`` entry-point group, and is tested with abaco's conformance kit.
"""

from .backend import DockerCliBackend

__all__ = ["DockerCliBackend"]
