"""The base of every layer stack: provider, default tags, remote state, Terraform version.

Only this module knows how a stack reaches AWS (or the emulator in `local`), so the
layer modules contain nothing but resources.
"""

from __future__ import annotations

from cdktf import LocalBackend, S3Backend, S3BackendEndpointConfig, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags, AwsProviderEndpoints
from constructs import Construct

from modules.config import WorkspaceSettings
from modules.product_defaults import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY
from modules.remote_state import local_state_path, stack_name, state_key, state_kms_alias

REQUIRED_TERRAFORM_VERSION = ">= 1.10"  # S3-native state locking (use_lockfile)

# Every service the layers use; in `local` each one is pointed at the emulator.
EMULATED_SERVICES = (
    "apigateway", "apigatewayv2", "appautoscaling", "cloudwatch", "cloudwatchlogs", "dynamodb", "ec2",
    "codedeploy", "events", "firehose", "iam", "kms", "lambda_", "s3", "sns", "sqs", "sfn", "sts", "wafv2",
)
EMULATOR_CREDENTIALS = {"access_key": EMULATOR_ACCESS_KEY_ID, "secret_key": EMULATOR_SECRET_ACCESS_KEY}


class LayerStack(TerraformStack):
    """A TerraformStack for one layer of one workspace, with its provider and S3 state."""

    def __init__(self, scope: Construct, settings: WorkspaceSettings, layer: str,
                 *, remote_state: bool = True, stack_id: str | None = None) -> None:
        super().__init__(scope, stack_id or stack_name(settings, layer))
        self.settings = settings
        self.layer = layer
        self.add_override("terraform.required_version", REQUIRED_TERRAFORM_VERSION)
        self.provider = self._build_provider(settings, layer)
        if remote_state:
            self._build_s3_backend(settings, layer)
        else:
            LocalBackend(self, path=local_state_path(layer))

    def _build_provider(self, settings: WorkspaceSettings, layer: str) -> AwsProvider:
        tags = AwsProviderDefaultTags(tags={
            "Project": settings.project,
            "Environment": settings.workspace,
            "ManagedBy": "cdktf",
            "Layer": layer,
        })
        if settings.emulator_endpoint is None:
            return AwsProvider(self, "aws", region=settings.region, default_tags=[tags])
        endpoint = settings.emulator_endpoint
        return AwsProvider(
            self, "aws",
            region=settings.region,
            default_tags=[tags],
            endpoints=[AwsProviderEndpoints(**dict.fromkeys(EMULATED_SERVICES, endpoint))],
            s3_use_path_style=True,
            skip_credentials_validation=True,
            skip_metadata_api_check="true",
            skip_requesting_account_id=True,
            access_key=EMULATOR_CREDENTIALS["access_key"],
            secret_key=EMULATOR_CREDENTIALS["secret_key"],
        )

    def _build_s3_backend(self, settings: WorkspaceSettings, layer: str) -> None:
        # Emulator settings go through the constructor (not overrides) because cdktf
        # copies these props into the remote-state data sources of dependent stacks.
        emulator: dict[str, object] = {}
        if settings.emulator_endpoint is not None:
            emulator = {
                "endpoints": S3BackendEndpointConfig(s3=settings.emulator_endpoint, sts=settings.emulator_endpoint),
                "use_path_style": True,
                "skip_credentials_validation": True,
                "skip_requesting_account_id": True,
                "skip_metadata_api_check": True,
                "skip_region_validation": True,
                **EMULATOR_CREDENTIALS,
            }
        S3Backend(self, bucket=settings.state_bucket, key=state_key(settings, layer),
                  region=settings.region, encrypt=True, kms_key_id=state_kms_alias(settings),
                  **emulator)  # type: ignore[arg-type]
        # cdktf 0.21's S3Backend predates Terraform's S3-native locking.
        self.add_override("terraform.backend.s3.use_lockfile", True)
