"""piclient server: the maintainer's home server, device API and dashboard.

Importing this package opens no database and no socket: ``piclient.server.cli.main`` builds everything.
"""
