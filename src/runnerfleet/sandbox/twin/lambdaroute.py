"""The front's ``lambda`` route: Invoke runs the function locally; the rest of Lambda is moto's.

``POST /2015-03-31/functions/{FunctionName}/invocations`` (name, ARN or partial ARN,
``?Qualifier=``) with ``X-Amz-Invocation-Type`` (RequestResponse, Event, DryRun) and
``X-Amz-Log-Type: Tail``; answered as Lambda answers: 200 with the function's result (and
``X-Amz-Function-Error: Unhandled`` when it failed), 202 for Event, 204 for DryRun.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, unquote

from runnerfleet.sandbox.twin.front import AwsRequest, Passthrough, Reply, Route
from runnerfleet.sandbox.twin.lambdas import LambdaError, LocalLambdas

_INVOKE = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")


def lambda_route(lambdas: LocalLambdas) -> Route:
    def _route(request: AwsRequest, moto: Passthrough) -> Reply:
        match = _INVOKE.match(request.path)
        if request.method != "POST" or match is None:
            return moto()
        qualifiers = parse_qs(request.query).get("Qualifier") or []
        qualifier = qualifiers[0] if qualifiers else None
        try:
            result = lambdas.run(
                unquote(match["name"]),
                request.body,
                request.headers.get("x-amz-invocation-type", "RequestResponse"),
                qualifier=qualifier,
                log_tail=request.headers.get("x-amz-log-type") == "Tail",
            )
        except LambdaError as exc:
            return lambda_error(exc)
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", result.function_error))
        if result.log_tail:
            headers.append(("X-Amz-Log-Result", result.log_tail))
        return Reply(result.status, headers, result.payload)

    return _route


def lambda_error(exc: LambdaError) -> Reply:
    """Lambda's REST-JSON error: the code in ``x-amzn-ErrorType`` and the body."""
    body = json.dumps({"Type": "User", "message": exc.message, "__type": exc.code}).encode()
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", exc.code)]
    return Reply(exc.status, headers, body)
