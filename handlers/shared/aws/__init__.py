"""AWS adapters: the only modules that import boto3/botocore.

Each adapter module declares ``AWS_SERVICE`` and obtains its client with
``clients.get("<service>")``; every AWS call is written ``self._client.<operation>(...)`` so the
IAM actions a function needs can be read from the modules it imports.

Table design (single table, name in ``TABLE_NAME``)
===================================================

Keys: ``pk`` (S), ``sk`` (S). Global secondary index ``GSI1`` on ``gsi1pk`` (S) / ``gsi1sk`` (S),
projection ALL. TTL attribute ``expires_at`` (epoch seconds). Stream: NEW_AND_OLD_IMAGES.

============  ===============  =======  ========  =============================  ==========
Record        pk               sk       gsi1pk    gsi1sk                         expires_at
============  ===============  =======  ========  =============================  ==========
item          ``ITEM#<id>``    ``ITEM`` ``ITEM``  ``<created_at>#<id>``          (none)
job           ``JOB#<id>``     ``JOB``  (none)    (none)                         +30 days
digest mark   ``DIGEST#<day>`` ``DIGEST`` (none)  (none)                         +7 days
health probe  ``HEALTH#probe`` ``HEALTH`` never written; only read
============  ===============  =======  ========  =============================  ==========

* Items carry ``type``, ``id``, ``name``, ``description`` (absent when null), ``tags`` (L of S),
  ``version`` (N), ``created_at``, ``updated_at``. ``created_at`` is a fixed-width UTC string, so
  ``gsi1sk`` sorts chronologically: listing newest first is a Query on ``gsi1pk = ITEM`` with
  ``ScanIndexForward=false``, and "created in the last 24 h" is a ``BETWEEN`` on ``gsi1sk``.
  Every item shares one GSI partition: fine up to ~1000 writes/s; beyond that, shard ``gsi1pk``
  (``ITEM#0..N``) and merge pages.
* Jobs carry ``type``, ``job_id``, ``status``, ``payload`` (JSON string: any JSON, no Decimal
  round-trips), ``result`` (JSON string), ``error`` (M: code, message), timestamps.
* Every create is a conditional put (``attribute_not_exists(pk)``); every update is conditional
  (version for items, allowed source status for jobs). Nothing is ever overwritten blindly.
* Idempotency records live in a separate table (``IDEMPOTENCY_TABLE_NAME``, key ``id``, TTL
  ``expiration``) managed by Powertools, see :mod:`handlers.shared.aws.idempotency_store`.
"""
