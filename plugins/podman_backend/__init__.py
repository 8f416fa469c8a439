"""abaco's Podman container backend (entry point ``podman = "abaco_podman.plugin"``).

Importing this package is cheap: podman-py is imported only when a backend is built.
"""
