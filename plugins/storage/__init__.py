"""The abaco store on peewee: SQLite (the embedded default) and PostgreSQL (clusters).

Importing this package is cheap; peewee is imported by :mod:`abaco_peewee.store` only
when a store is built. README.md beside this file describes the database URLs, the
schema and how to add a migration step.
"""
