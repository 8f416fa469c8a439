"""Zero-code mode: ``pytest --pyargs abaco_harness.conformance --abaco-backend=NAME`` runs every
suite against the backend registered as ``NAME``."""
