"""Plan review: one readable review of every stack's `terraform plan` for a workspace,
with a gate on destroying or replacing stateful resources (`make plan WORKSPACE=<ws>`)."""
