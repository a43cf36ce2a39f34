"""What the architecture diagram shows, read from a cdktf synth output.

Everything comes from the synthesized stacks, not from the code that builds them: the
stacks and their order from cdktf's `manifest.json` (through `delivery.stacks`), the main
resources of each stack from its `cdk.tf.json`, and the values that flow between stacks
from the `terraform_remote_state` outputs a dependent stack reads. So the diagram follows
the code without anyone editing it.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from delivery.stacks import BOOTSTRAP, Stack, load_stacks

# The resource types a reader needs to see the shape of the product, in the order they are
# drawn within a stack. Everything else (policies, routes, aliases, ...) is detail.
MAIN_TYPES: tuple[str, ...] = (
    "aws_vpc",
    "aws_subnet",
    "aws_nat_gateway",
    "aws_vpc_endpoint",
    "aws_kms_key",
    "aws_s3_bucket",
    "aws_dynamodb_table",
    "aws_sqs_queue",
    "aws_sns_topic",
    "aws_api_gateway_rest_api",
    "aws_apigatewayv2_api",
    "aws_wafv2_web_acl",
    "aws_lambda_function",
    "aws_sfn_state_machine",
    "aws_cloudwatch_event_rule",
    "aws_kinesis_firehose_delivery_stream",
    "aws_cloudwatch_metric_alarm",
    "aws_cloudwatch_dashboard",
)

_REMOTE_READ = re.compile(
    r"data\.terraform_remote_state\.cross-stack-reference-input-([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)"
)
_EXPORTED = re.compile(r"^\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_.]+)\}$")


class ArchitectureError(ValueError):
    """The synth output does not have the shape the diagram is read from."""


@dataclass(frozen=True)
class ResourceGroup:
    """The resources of one main type in one stack, by construct path below the layer."""

    rtype: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Layer:
    stack: str
    resources: tuple[ResourceGroup, ...]


@dataclass(frozen=True)
class Read:
    """One value a stack reads from another: an attribute of a resource of the producer."""

    rtype: str
    path: str
    attribute: str


@dataclass(frozen=True)
class Flow:
    """A cross-stack reference: `consumer` reads `reads` from `producer`'s state."""

    producer: str
    consumer: str
    reads: tuple[Read, ...]


@dataclass(frozen=True)
class Architecture:
    workspace: str
    layers: tuple[Layer, ...]  # bootstrap first (when synthesized), then dependency order
    flows: tuple[Flow, ...]
    state_backend_users: tuple[str, ...]  # workspace stacks whose S3 backend is bootstrap's bucket


def read_architecture(outdir: Path, workspace: str) -> Architecture:
    """The layers of `workspace` (and `bootstrap`, when it was synthesized) in `outdir`."""
    with_bootstrap = (outdir / "stacks" / BOOTSTRAP / "cdk.tf.json").is_file()
    stacks = load_stacks(outdir, [workspace], with_bootstrap=with_bootstrap)
    documents = {stack.name: _document(stack) for stack in stacks}
    layers = tuple(Layer(stack.name, main_resources(stack.name, documents[stack.name])) for stack in stacks)
    flows = tuple(_flows(stacks, documents))
    users = _state_backend_users(documents) if with_bootstrap else ()
    return Architecture(workspace, layers, flows, users)


def _document(stack: Stack) -> dict[str, Any]:
    path = stack.directory / "cdk.tf.json"
    if not path.is_file():
        raise ArchitectureError(f"{path} is missing: the manifest names stack {stack.name}")
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def construct_path(stack: str, config: dict[str, Any]) -> str:
    """A resource's construct path below its layer: `dev-data/data/table` -> `table`."""
    path = str(config["//"]["metadata"]["path"])
    parts = path.split("/")[1:]
    layer = stack.split("-", 1)[1] if stack != BOOTSTRAP else BOOTSTRAP
    if len(parts) > 1 and parts[0] == layer:
        parts = parts[1:]
    return "/".join(parts)


def main_resources(stack: str, document: dict[str, Any]) -> tuple[ResourceGroup, ...]:
    resources = document.get("resource", {})
    return tuple(
        ResourceGroup(rtype, tuple(sorted(construct_path(stack, cfg) for cfg in resources[rtype].values())))
        for rtype in MAIN_TYPES
        if resources.get(rtype)
    )


def _flows(stacks: list[Stack], documents: dict[str, dict[str, Any]]) -> list[Flow]:
    flows: list[Flow] = []
    for consumer in stacks:
        reads = remote_reads(consumer.name, documents)
        upstream = [dep for dep in consumer.dependencies if dep != BOOTSTRAP]
        for producer in [*upstream, *sorted(set(reads) - set(upstream))]:
            flows.append(Flow(producer, consumer.name, tuple(sorted(reads.get(producer, set()),
                                                                    key=lambda r: (r.rtype, r.path, r.attribute)))))
    order = {stack.name: index for index, stack in enumerate(stacks)}
    return sorted(flows, key=lambda flow: (order[flow.producer], order[flow.consumer]))


def remote_reads(consumer: str, documents: dict[str, dict[str, Any]]) -> dict[str, set[Read]]:
    """Producer stack -> what `consumer` reads from its remote state, anywhere in its document."""
    reads: dict[str, set[Read]] = defaultdict(set)
    text = json.dumps(documents[consumer])
    for producer, output in set(_REMOTE_READ.findall(text)):
        if producer not in documents:
            raise ArchitectureError(f"{consumer} reads the state of {producer}, which is not a synthesized stack")
        reads[producer].add(_exported(producer, output, documents[producer]))
    return dict(reads)


def _exported(producer: str, output: str, document: dict[str, Any]) -> Read:
    """The resource attribute behind one cross-stack output of `producer`."""
    value = document.get("output", {}).get(output, {}).get("value")
    match = _EXPORTED.match(value) if isinstance(value, str) else None
    if match is None:
        raise ArchitectureError(f"{producer} output {output} is not a resource attribute reference: {value!r}")
    rtype, unique_id, attribute = match.groups()
    config = document.get("resource", {}).get(rtype, {}).get(unique_id)
    if config is None:
        raise ArchitectureError(f"{producer} output {output} refers to {rtype}.{unique_id}, which it does not define")
    return Read(rtype, construct_path(producer, config), attribute)


def _state_backend_users(documents: dict[str, dict[str, Any]]) -> tuple[str, ...]:
    buckets = {cfg.get("bucket") for cfg in documents[BOOTSTRAP].get("resource", {}).get("aws_s3_bucket", {}).values()}
    return tuple(
        name
        for name, document in documents.items()
        if name != BOOTSTRAP and document.get("terraform", {}).get("backend", {}).get("s3", {}).get("bucket") in buckets
    )
