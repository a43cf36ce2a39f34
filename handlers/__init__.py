"""Lambda runtime code: one package per function family plus ``shared``.

Nothing here imports ``modules/`` (the infrastructure); the infrastructure only reads the
pure-data route table in :mod:`handlers.api.routes_table`.
"""
