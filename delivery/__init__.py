"""The delivery pipeline: the synth cache, the Terraform runner and the stack graph it applies
in order, the plan review and the gate that applies only what was reviewed, the rollout through
CodeDeploy, and the hotswap of handler code (local and dev). `main.py`, local mode and the
workflows run these; `devtools/` keeps what only developers run (diagram, docs, checkov)."""
