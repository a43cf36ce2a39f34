"""Unit-level tests of the local-mode runtime (localmode/)."""
