"""The abaco queue on Redis: durable per-actor FIFO inboxes for cluster deployments.

Importing this package is cheap; redis-py is imported by :mod:`abaco_redis.queue` only when
a queue is built. README.md beside this file describes the guarantees, the key layout and
the durability settings Redis needs.
"""
