"""The `ci` stack: GitHub Actions' identities in this account, deployed once by hand like
`bootstrap` (local state in state/ci.tfstate): the GitHub OIDC provider and, per workspace,
a plan role (pull requests and the drift check) and a deploy role (the workspace's GitHub
environment). Their policies are derived from the workspace stacks built in the same app:
the resource types present (modules/ci_permissions.py says what Terraform calls for each)
and the state keys and lock files of the workspace's stacks.

Its own stack, not part of `bootstrap`: it is built only from a synth of every workspace
(its policies follow what those stacks hold), and local mode, which deploys `bootstrap`
into the emulator, has no use for it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

from cdktf import TerraformDataSource, TerraformOutput, TerraformResource, TerraformStack
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_kms_alias import DataAwsKmsAlias
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_openid_connect_provider import IamOpenidConnectProvider
from cdktf_cdktf_provider_aws.iam_policy import IamPolicy
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from modules.base_stack import LayerStack, state_kms_alias
from modules.ci_policies import CiPolicyInputs, role_statements
from modules.config import WorkspaceSettings

CI_STACK = "ci"
CI_WORKSPACES = ("dev", "staging", "prod")
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
# IAM's limit for one managed policy, counted without whitespace (IAM and STS quotas).
MANAGED_POLICY_MAX_CHARS = 6144
# The longest values the references resolve to (partition aws-us-gov; a key ARN), for sizing.
SIZING_PARTITION, SIZING_ACCOUNT = "aws-us-gov", "123456789012"
SIZING_KEY_ARN = f"arn:{SIZING_PARTITION}:kms:us-gov-west-1:{SIZING_ACCOUNT}:key/" + "0" * 36


def plan_subjects(repository: str, workspace: str) -> list[str]:
    """Who may plan: pull requests (prod: only a job in the `prod-plan` environment, which
    has required reviewers), and the scheduled drift check on main."""
    reviewed = "environment:prod-plan" if workspace == "prod" else "pull_request"
    return [f"repo:{repository}:{reviewed}", f"repo:{repository}:ref:refs/heads/main"]


def deploy_subjects(repository: str, workspace: str) -> list[str]:
    """Who may deploy: a job in the workspace's GitHub environment (prod: required reviewers)."""
    return [f"repo:{repository}:environment:{workspace}"]


def chunk_sizes(statements: list[dict[str, Any]], limit: int = MANAGED_POLICY_MAX_CHARS) -> list[int]:
    """How many statements, in order, go into each document of at most `limit` characters.
    `statements` must hold the longest real values (the references are unresolved tokens
    at synth time): `SIZING_*`."""
    sizes = [0]
    for index, statement in enumerate(statements):
        start = index - sizes[-1]
        if sizes[-1] and len(minified(statements[start:index + 1])) > limit:
            sizes.append(0)
        sizes[-1] += 1
        if len(minified(statements[index - sizes[-1] + 1:index + 1])) > limit:
            raise ValueError(f"statement {statement.get('Sid')} alone exceeds IAM's {limit} characters: split it")
    return sizes


def minified(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True, separators=(",", ":"))


def workspace_types(stacks: Sequence[TerraformStack]) -> set[str]:
    """The resource and data source types of these stacks, as Terraform names them."""
    return {str(node.terraform_resource_type) for stack in stacks for node in stack.node.find_all()
            if isinstance(node, TerraformResource | TerraformDataSource)}


class CiStack(LayerStack):
    """The OIDC provider and each workspace's plan and deploy roles (see the module doc)."""

    def __init__(self, scope: Construct, settings: WorkspaceSettings, repository: str,
                 workspaces: dict[str, list[LayerStack]]) -> None:
        super().__init__(scope, settings, CI_STACK, remote_state=False, stack_id=CI_STACK)
        partition = DataAwsPartition(self, "partition").partition
        account = DataAwsCallerIdentity(self, "caller").account_id
        state_key = DataAwsKmsAlias(self, "state_key", name=state_kms_alias(settings)).target_key_arn
        provider = IamOpenidConnectProvider(self, "github", url=f"https://{GITHUB_OIDC_HOST}",
                                            client_id_list=[AUDIENCE])
        TerraformOutput(self, "github_oidc_provider_arn", value=provider.arn,
                        description="GitHub's OIDC identity provider of this account")
        for workspace, stacks in workspaces.items():
            inputs = CiPolicyInputs(partition=partition, account=account, region=settings.region,
                                    prefix=f"{settings.project}-{workspace}", state_bucket=settings.state_bucket,
                                    state_key_arn=state_key, types=frozenset(workspace_types(stacks)),
                                    layers=tuple(stack.layer for stack in stacks),
                                    state_prefix=f"{settings.project}/{workspace}/")
            for kind, subjects in (("plan", plan_subjects(repository, workspace)),
                                   ("deploy", deploy_subjects(repository, workspace))):
                sizing = role_statements(dataclasses.replace(
                    inputs, partition=SIZING_PARTITION, account=SIZING_ACCOUNT, state_key_arn=SIZING_KEY_ARN), kind)
                role = self._build_role(settings, workspace, kind, provider.arn, subjects,
                                        role_statements(inputs, kind), chunk_sizes(sizing))
                TerraformOutput(self, f"{workspace}_{kind}_role_arn", value=role.arn,
                                description=f"The {kind} role of {workspace} for GitHub Actions (docs/delivery.md)")

    def _build_role(self, settings: WorkspaceSettings, workspace: str, kind: str, provider_arn: str,
                    subjects: list[str], statements: list[dict[str, Any]], sizes: list[int]) -> IamRole:
        # Outside the `{project}-{workspace}-` prefix the deploy role manages, so that no
        # deploy role can rewrite its own or another CI role.
        name = f"{settings.project}-ci-{workspace}-{kind}"
        trust = {"Version": "2012-10-17", "Statement": [{
            "Sid": "GitHubOidc", "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
            "Principal": {"Federated": provider_arn},
            "Condition": {"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                                           f"{GITHUB_OIDC_HOST}:sub": subjects}},
        }]}
        role = IamRole(self, f"{workspace}_{kind}_role", name=name, path="/ci/",
                       description=f"GitHub Actions: {kind} of the {workspace} workspace (modules/ci.py)",
                       assume_role_policy=json.dumps(trust, sort_keys=True), max_session_duration=3600 * 2)
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        for index, (start, size) in enumerate(zip(starts, sizes, strict=True), start=1):
            chunk = statements[start:start + size]
            policy = IamPolicy(self, f"{workspace}_{kind}_policy_{index}", name=f"{name}-{index}", path="/ci/",
                               description=f"{kind} of {workspace}, part {index}: each Sid's reason is in "
                                           "modules/ci_policies.py",
                               policy=minified(chunk))
            IamRolePolicyAttachment(self, f"{workspace}_{kind}_attachment_{index}", role=role.name,
                                    policy_arn=policy.arn)
        return role
