"""Tasks of the job workflow (Step Functions): validate -> process -> notify, mark_failed on any error.

Entry points: ``handlers.workflow.{validate,process,notify,mark_failed}.lambda_handler``. Each task
returns its whole input plus what it adds, so the state machine needs no ResultPath on success (with
the ``arn:aws:states:::lambda:invoke`` integration use ``OutputPath: $.Payload``).

State shapes
============

``validate``
    in  ``{"job_id": str, "payload": {...}}`` (the execution input written by ``POST /jobs``)
    out ``in + {"operation": "sum" | "mean" | "min" | "max"}``
    raises ``JobValidationError`` when the payload breaks the rules below (Catch -> mark_failed).

``process``
    in  validate's output
    out ``in + {"result": {"operation": str, "value": number, "count": int}}``
    Sets the job PROCESSING, computes, stores the result once (conditional update): a retried
    attempt returns the stored result instead of applying it again.
    raises ``TransientError`` (Retry), ``JobStateConflict`` (job already FAILED: Catch).

``notify``
    in  process's output
    out ``in + {"status": "COMPLETED", "message_id": str | null}``
    Publishes ``JobCompleted`` to ``EVENTS_TOPIC_ARN`` (message attribute ``event_type``), then
    PROCESSING -> COMPLETED. An already COMPLETED job publishes nothing (``message_id`` null).
    raises ``TransientError`` (Retry).

``mark_failed``
    in  the state of the failed step plus ``"error": {"Error": str, "Cause": str}`` (Catch with
        ``ResultPath: $.error``)
    out ``{"job_id": str, "status": <final status>}``
    PENDING/PROCESSING -> FAILED with ``error = {"code": Error, "message": ...}``; a job already
    COMPLETED or FAILED is left as it is. Only JobValidationError messages reach the client; other
    causes (stack traces, Lambda errors) are replaced by a generic message.

Payload rules (validate)
========================
``{"items": [number, ...], "operation": "sum" | "mean" | "min" | "max"}``: ``items`` is required,
1 to 10000 finite numbers (booleans are not numbers); ``operation`` defaults to ``sum``; no other
field is allowed.

Error names for Retry/Catch
===========================
``TransientError`` (throttling, 5xx, timeouts: retry with backoff), ``JobValidationError`` (never
retry), ``JobStateConflict`` and ``JobNotFound`` (never retry), anything else: ``States.ALL``.
"""
