"""abaco's Docker container backend (entry point ``docker = "abaco_docker.plugin"``).

Importing this package is cheap: docker-py is imported only when a backend is built.
"""
