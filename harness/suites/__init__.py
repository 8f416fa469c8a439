"""Conformance suites: test classes that a binding subclasses (or that
``abaco_harness.conformance`` binds to the ``--abaco-backend`` named on the command line).

``ordering`` (the hypothesis state machine over a queue and a store) is imported from its
module, ``abaco_harness.suites.ordering``, so that the container and queue suites need no
hypothesis."""

from .container_backend import ContainerBackendSuite
from .queue import QueueFixtures, QueueSuite

__all__ = ["ContainerBackendSuite", "QueueFixtures", "QueueSuite"]
