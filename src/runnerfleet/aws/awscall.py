"""The one place that turns botocore's exceptions into runnerfleet errors with a fix.

Adapters wrap each call in ``aws_call(lambda: ..., "what we were doing", hint)`` or raise
``translate(exc, what, hint)``; the CLI then prints one readable line instead of a traceback
and maps it to a documented exit code. ``error_code`` reads AWS's error code for the adapters
that treat one code as an answer (a missing parameter, an expired lifecycle action).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import botocore.exceptions
import botocore.parsers

from runnerfleet.aws.clients import missing_credentials_error
from runnerfleet.errors import AwsError, CredentialsError, RunnerfleetError

T = TypeVar("T")

AUTH_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId",
    }
)


GENERIC_HINT = "the message above comes from AWS; check permissions and the named resource"


def aws_call(call: Callable[[], T], what: str, hint: str | None = None) -> T:
    try:
        return call()
    except RunnerfleetError:
        raise
    except Exception as exc:
        raise translate(exc, what, hint) from exc


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        error: dict[str, Any] = dict(exc.response.get("Error", {}))
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    if isinstance(exc, botocore.parsers.ResponseParserError):
        return "the endpoint answered with an unreadable page (the emulator lacks this call)"
    return str(exc) or type(exc).__name__


def translate(
    exc: BaseException, what: str, hint: str | None = None, *, quote: bool = True
) -> RunnerfleetError:
    """The runnerfleet error for a failed AWS call of ``what``, with what to do about it.

    ``quote=False`` leaves AWS's message out (it may repeat the request, e.g. a private key).
    """
    if isinstance(exc, RunnerfleetError):
        return exc
    if isinstance(
        exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError
    ):
        return missing_credentials_error()
    code = error_code(exc)
    if code in AUTH_CODES:
        return CredentialsError(
            f"AWS rejected the credentials ({what}): {code}",
            hint="refresh them (aws sso login, or new keys), or pass --sandbox",
        )
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return AwsError(
            f"could not reach AWS ({what}): {exc}",
            hint="check the network and the region; for the sandbox: runnerfleet sandbox status",
        )
    reason = error_message(exc) if quote else (code or type(exc).__name__)
    return AwsError(f"{what} failed: {reason}", hint=hint or GENERIC_HINT)
