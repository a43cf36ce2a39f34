"""The API function: one APIGatewayRestResolver serving REST API and HTTP API (payload 1.0) events.

Layers: ``app`` (entry) -> ``routes`` (HTTP only) -> ``logic`` (no HTTP, no boto3) ->
``handlers.shared.aws`` (data access). Errors become HTTP responses in ``errors`` only.
"""
