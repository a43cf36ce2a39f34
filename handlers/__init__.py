"""Lambda runtime code: one package per function family plus ``shared``.

Nothing here imports ``modules/`` (the infrastructure); the infrastructure only reads
pure data from here: the route table in :mod:`handlers.api.routes_table` and the shared
defaults and names in :mod:`handlers.shared.constants`.
"""
