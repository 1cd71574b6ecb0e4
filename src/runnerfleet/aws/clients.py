"""The one factory every boto3 client comes from.

Commands build a ``ClientFactory`` once (the composition root) and pass it, or the clients it
makes, into adapters. Nothing creates a client at import time.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
import botocore.exceptions
import botocore.utils
from botocore.config import Config
from dateutil.tz import tzutc

from runnerfleet.errors import CredentialsError

if TYPE_CHECKING:  # the stubs are a development dependency; the Lambda has none
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_identitystore import IdentityStoreClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_service_quotas import ServiceQuotasClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

SANDBOX_ACCESS_KEY = "runnerfleet-sandbox"  # moto accepts any key; this one is not a secret
SANDBOX_SECRET_KEY = "runnerfleet-sandbox"  # noqa: S105 - moto's dummy credential, not a secret


@dataclass(frozen=True)
class AwsTarget:
    """Where the calls go: a real account (profile, optional role) or the sandbox endpoint."""

    region: str
    profile: str | None = None
    role_arn: str | None = None
    expected_account: str | None = None
    endpoint_url: str | None = None
    max_attempts: int = 5

    @property
    def emulated(self) -> bool:
        return self.endpoint_url is not None

    def label(self) -> str:
        where = f"{self.region}"
        return f"{where} (EMULATED sandbox at {self.endpoint_url})" if self.emulated else where


class ClientFactory:
    """Makes (and caches) boto3 clients for one target. Thread-safe for parallel deploys."""

    def __init__(self, target: AwsTarget, session: boto3.session.Session | None = None) -> None:
        self.target = target
        self._session = session
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    @overload
    def client(self, service: Literal["acm"]) -> ACMClient: ...
    @overload
    def client(self, service: Literal["autoscaling"]) -> AutoScalingClient: ...
    @overload
    def client(self, service: Literal["cloudformation"]) -> CloudFormationClient: ...
    @overload
    def client(self, service: Literal["cloudwatch"]) -> CloudWatchClient: ...
    @overload
    def client(self, service: Literal["ec2"]) -> EC2Client: ...
    @overload
    def client(self, service: Literal["events"]) -> EventBridgeClient: ...
    @overload
    def client(self, service: Literal["iam"]) -> IAMClient: ...
    @overload
    def client(self, service: Literal["identitystore"]) -> IdentityStoreClient: ...
    @overload
    def client(self, service: Literal["lambda"]) -> LambdaClient: ...
    @overload
    def client(self, service: Literal["logs"]) -> CloudWatchLogsClient: ...
    @overload
    def client(self, service: Literal["s3"]) -> S3Client: ...
    @overload
    def client(self, service: Literal["service-quotas"]) -> ServiceQuotasClient: ...
    @overload
    def client(self, service: Literal["ssm"]) -> SSMClient: ...
    @overload
    def client(self, service: Literal["sts"]) -> STSClient: ...
    @overload
    def client(self, service: str) -> Any: ...
    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._make(service)
            return self._clients[service]

    def account_id(self) -> str:
        """The account the credentials belong to; checks the expected account if one is set."""
        try:
            account: str = self.client("sts").get_caller_identity()["Account"]
        except (
            botocore.exceptions.NoCredentialsError,
            botocore.exceptions.PartialCredentialsError,
        ) as exc:
            raise missing_credentials_error() from exc
        except botocore.exceptions.ClientError as exc:
            raise CredentialsError(
                f"AWS rejected the credentials: {exc.response['Error'].get('Code', 'error')}",
                hint="refresh them (aws sso login, or new keys), or pass --sandbox",
            ) from exc
        expected = self.target.expected_account
        if expected and not self.target.emulated and account != expected:
            raise CredentialsError(
                f"credentials are for account {account}, but the environment says {expected}",
                hint="use the profile for that account (--profile) or fix aws.account_id",
            )
        return account

    def _make(self, service: str) -> Any:
        config = Config(
            region_name=self.target.region,
            retries={"max_attempts": self.target.max_attempts, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
        )
        session = self._base_session()
        fast_timestamps(session)
        return session.client(service, config=config, endpoint_url=self.target.endpoint_url)  # type: ignore[call-overload]

    def _base_session(self) -> boto3.session.Session:
        if self._session is None:
            self._session = _build_session(self.target)
        return self._session


def fast_timestamps(session: boto3.session.Session) -> None:
    """Parse response timestamps with ``fast_timestamp``: botocore's default goes through
    dateutil, a quarter of the CPU of parsing DescribeInstances for a large group."""
    factory = session._session.get_component("response_parser_factory")
    factory.set_parser_defaults(timestamp_parser=fast_timestamp)


def fast_timestamp(value: object) -> dt.datetime:
    """The UTC ISO 8601 times AWS sends (``2026-12-02T08:00:00.000Z``) by ``fromisoformat``;
    anything else (epoch numbers, offsets, RFC 822) by botocore's own parser."""
    if isinstance(value, str) and value.endswith(("Z", "+00:00")):
        try:
            return dt.datetime.fromisoformat(value).replace(tzinfo=tzutc())
        except ValueError:
            pass
    parsed: dt.datetime = botocore.utils.parse_timestamp(value)  # type: ignore[arg-type]  # numbers too
    return parsed


def _build_session(target: AwsTarget) -> boto3.session.Session:
    if target.emulated:
        return boto3.session.Session(
            aws_access_key_id=SANDBOX_ACCESS_KEY,
            aws_secret_access_key=SANDBOX_SECRET_KEY,
            region_name=target.region,
        )
    try:
        base = boto3.session.Session(profile_name=target.profile, region_name=target.region)
    except botocore.exceptions.ProfileNotFound as exc:
        raise CredentialsError(
            f"AWS profile {target.profile!r} is not configured",
            hint="run `aws configure --profile NAME` or `aws configure sso`, or pass --sandbox",
        ) from exc
    if base.get_credentials() is None:
        raise missing_credentials_error()
    if not target.role_arn:
        return base
    return _assume_role(base, target)


def _assume_role(base: boto3.session.Session, target: AwsTarget) -> boto3.session.Session:
    sts = base.client("sts", region_name=target.region)
    try:
        creds = sts.assume_role(RoleArn=str(target.role_arn), RoleSessionName="runnerfleet")[
            "Credentials"
        ]
    except botocore.exceptions.ClientError as exc:
        raise CredentialsError(
            f"could not assume role {target.role_arn}: {exc.response['Error'].get('Code')}",
            hint="check the role's trust policy allows your identity, or fix aws.role_arn",
        ) from exc
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=target.region,
    )


def missing_credentials_error() -> CredentialsError:
    return CredentialsError(
        "no AWS credentials found",
        hint=(
            "configure them (`aws configure`, `aws configure sso`, AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or add --sandbox to use the embedded "
            "emulator (`runnerfleet sandbox start`)"
        ),
    )


def env_region(default: str = "us-east-1") -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or default
