"""Conformance suites: test classes that a binding subclasses (or that
``abaco_harness.conformance`` binds to the ``--abaco-backend`` named on the command line)."""

from .container_backend import ContainerBackendSuite

__all__ = ["ContainerBackendSuite"]
