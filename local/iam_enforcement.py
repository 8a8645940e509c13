"""moto's IAM enforcement, switched on, completed where the template's roles need it.

With ``INITIAL_NO_AUTH_ACTION_COUNT`` reached, moto (5.2) checks each request's signature, finds
the identity behind its access key (an IAM user's key, or an ``sts:AssumeRole`` session, whose
policies are then the role's own, read at each request) and evaluates that identity's policies.
Its evaluation leaves out things the template's roles depend on; ``enforced`` adds them:

- **Resources beyond S3.** moto names the resource of S3, SQS, IAM and STS requests only; every
  other request is evaluated against ``*``, which only a ``"Resource": "*"`` statement matches, so
  a grant on the secret's or the crawler's ARN would allow nothing. Here Secrets Manager, Glue and
  Lambda requests name the ARN they act on.
- **Conditions.** moto evaluates a condition only on values the request supplies (for an
  identity policy: none, so ``s3:ListBucket`` limited to ``raw/*`` lists any prefix), knows
  ``StringEquals`` only, and takes an unmet condition for an explicit Deny (so two listing grants
  on different prefixes refuse each other). Here S3 list requests carry ``s3:prefix``, and a
  statement applies only when its conditions hold on the request's keys, as in AWS: with
  ``StringEquals`` or ``StringLike``; a key the request does not carry, or another operator, does
  not hold (no statement here uses ``...IfExists``).
- **DeleteObjects** is checked by moto as ``s3:DeleteObject`` on the bucket, so a grant on
  ``usage/*`` refused it; here each key is checked (one refused key refuses the whole request,
  where S3 would delete the others and report that one).
- **CopyObject** is checked by moto as ``s3:PutObject`` on the target only; S3 also requires
  ``s3:GetObject`` on the source, checked here.
- **Lambda's Invoke** is checked by moto as ``lambda:Invoke``; IAM calls it
  ``lambda:InvokeFunction``.
- **Refusals name what was refused**, as AWS's do ("User: ... is not authorized to perform:
  s3:PutObject on resource: ..."), in the protocol of the service (moto's are XML with a bare
  403 for JSON services, and a bare "Access Denied" for S3).

Still not enforced: KMS (moto's S3 and Secrets Manager never ask KMS, so ``kms:Decrypt``/
``kms:GenerateDataKey`` with ``kms:ViaService`` are never evaluated, nor is the key policy),
resource-based policies (the bucket's TLS-only policy), the trust policies of the roles assumed
here, and session expiry.

The execution's own calls (moto's ASL interpreter invoking the functions) are made with the
state machine role's session instead of the fixed keys moto gives them.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, unquote, urlparse
from xml.etree import ElementTree

import boto3
import requests
from botocore.config import Config

from local.aws_identities import AccessKey

# API operations whose IAM action has another name (moto checks the operation's name).
IAM_ACTION_OF_OPERATION = {"lambda:Invoke": "lambda:InvokeFunction"}
# Services that answer in JSON (signing names); a refusal is AccessDeniedException there.
JSON_SERVICES = frozenset({"secretsmanager", "glue", "lambda", "states", "athena", "kms", "logs"})
# S3 actions on a bucket that list keys and so carry the s3:prefix condition key.
S3_LIST_ACTIONS = frozenset({"s3:ListBucket", "s3:ListBucketVersions"})


def _denial(principal: str, action: str, resource: str) -> str:
    return (
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
        f"because no identity-based policy allows the {action} action"
    )


# --- IAM policy evaluation ------------------------------------------------------------------------


def _string_like(expected: str, actual: str) -> bool:
    """IAM's StringLike: ``*`` is any run of characters, ``?`` any one."""
    pattern = re.escape(expected).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(pattern, actual) is not None


CONDITION_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringLike": _string_like,
}


def conditions_hold(
    conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]
) -> bool:
    """Whether every condition holds on the request's keys (a list of values: any of them)."""
    for operator, keys in conditions.items():
        test = CONDITION_OPERATORS.get(operator)
        for key, expected in keys.items():
            values = [expected] if isinstance(expected, str) else expected
            if test is None or key not in context:
                return False
            if not any(test(value, context[key]) for value in values):
                return False
    return True


def _statement_class() -> type:
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    class Statement(IAMPolicyStatement):
        """A statement that applies only when its conditions hold (moto: an unmet one denies)."""

        def is_action_permitted(
            self,
            action: str,
            resource: str = "*",
            principal: str | None = None,
            incoming_condition_values: dict[str, str] | None = None,
        ) -> Any:
            context = incoming_condition_values or {}
            if not conditions_hold(self._statement.get("Condition", {}), context):
                return PermissionResult.NEUTRAL
            return super().is_action_permitted(action, resource, principal, None)

        def _check_conditions(self, incoming_condition_values: Any) -> bool:
            return True  # checked above, as AWS checks them

    return Statement


def _request_classes() -> tuple[type, type]:
    """moto's request classes, extended; imported late: moto is slow to import."""
    from moto.core.exceptions import JsonRESTError
    from moto.iam.access_control import IAMPolicy, IAMRequest, PermissionResult, S3IAMRequest
    from moto.s3.exceptions import BucketAccessDeniedError, S3ClientError

    class ServiceRequest(IAMRequest):
        """A request to a service other than S3: IAM's action names, refusals that say what."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._action = IAM_ACTION_OF_OPERATION.get(self._action, self._action)
            self._resource = "*"

        def check_action_permitted(self, resource: str) -> None:
            self._resource = resource
            super().check_action_permitted(resource)

        def _raise_access_denied(self) -> None:
            if self._service not in JSON_SERVICES:
                super()._raise_access_denied()
            principal = self._access_key.arn
            raise JsonRESTError(
                "AccessDeniedException", _denial(principal, self._action, self._resource)
            )

    class S3Request(S3IAMRequest):
        """An S3 request, checked as S3 checks it: each key, the copy's source, s3:prefix."""

        def check_action_permitted(self, resource: str) -> None:
            for action, target, context in self._checks(resource):
                self._check(action, target, context)

        def _checks(self, resource: str) -> Iterator[tuple[str, str, dict[str, str] | None]]:
            query = parse_qs(urlparse(self._path).query, keep_blank_values=True)
            bucket_arn = resource.split("/", 1)[0]
            if self._action == "s3:DeleteObject" and "delete" in query:
                for key in _deleted_keys(self._body):
                    yield self._action, f"{bucket_arn}/{key}", None
                return
            if self._action in S3_LIST_ACTIONS:
                prefix = query.get("prefix")
                yield self._action, resource, {"s3:prefix": prefix[0]} if prefix else {}
                return
            yield self._action, resource, None
            source = self._headers.get("x-amz-copy-source")
            if self._action == "s3:PutObject" and source:
                yield "s3:GetObject", _copy_source_arn(resource, source), None

        def _check(self, action: str, resource: str, context: dict[str, str] | None) -> None:
            permitted = False
            for policy in self._access_key.collect_policies():
                result = IAMPolicy(policy).is_action_permitted(action, resource, None, context)
                if result == PermissionResult.DENIED:
                    self._refuse(action, resource)
                permitted = permitted or result == PermissionResult.PERMITTED
            if not permitted:
                self._refuse(action, resource)

        def _refuse(self, action: str, resource: str) -> None:
            message = _denial(self._access_key.arn, action, resource)
            if "BucketName" in self._data:
                # The class moto's S3 responses catch (DeleteObjects answers per key then).
                refusal = BucketAccessDeniedError(bucket=self._data["BucketName"])
                S3ClientError.__init__(refusal, "AccessDenied", message)
                raise refusal
            raise S3ClientError("AccessDenied", message)

    return ServiceRequest, S3Request


def _deleted_keys(body: bytes | str) -> list[str]:
    # The body of a DeleteObjects request this process's own client sent to moto on loopback.
    root = ElementTree.fromstring(body)  # noqa: S314
    return [element.text or "" for element in root.iter() if element.tag.endswith("Key")]


def _copy_source_arn(target_arn: str, source: str) -> str:
    path = unquote(source.split("?", 1)[0]).lstrip("/")
    partition = target_arn.split(":", 2)[1]
    return f"arn:{partition}:s3:::{path}"


# --- the resource a request acts on, for the services moto leaves at "*" -----------------------


def _arn(response: Any, service: str, resource: str) -> str:
    """The ARN of ``resource`` in the account and region ``response`` answers for."""
    account, region = response.current_account, response.region
    return f"arn:{response.partition}:{service}:{region}:{account}:{resource}"


def _secret_resource(response: Any) -> str:
    from moto.secretsmanager.exceptions import SecretNotFoundException

    secret_id = response._get_param("SecretId")
    if not secret_id:
        return "*"
    try:
        arn: str = response.backend.describe_secret(secret_id).arn
    except SecretNotFoundException:
        if secret_id.startswith("arn:"):
            return str(secret_id)
        return _arn(response, "secretsmanager", f"secret:{secret_id}")
    return arn


def _glue_resource(response: Any) -> str:
    name = response._get_param("Name")
    if name and "Crawler" in response._get_action():
        return _arn(response, "glue", f"crawler/{name}")
    return "*"


def _function_resource(response: Any) -> str:
    match = re.search(r"/functions/([^/]+)", response.path)
    if match is None:
        return "*"
    name = unquote(match.group(1))
    if not name.startswith("arn:"):
        name = _arn(response, "lambda", f"function:{name}")
    qualifier = response.querystring.get("Qualifier")
    return f"{name}:{qualifier[0]}" if qualifier else name


# --- switching it on ----------------------------------------------------------------------------


@contextmanager
def enforced(endpoint: str, execution_role: AccessKey) -> Iterator[None]:
    """Enforce IAM in the moto server at ``endpoint`` until exit; then put back what was there."""
    from moto.awslambda.responses import LambdaResponse
    from moto.glue.responses import GlueResponse
    from moto.iam import access_control
    from moto.secretsmanager.responses import SecretsManagerResponse
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    service_request, s3_request = _request_classes()
    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(access_control, "IAMRequest", service_request))
        stack.enter_context(mock.patch.object(access_control, "S3IAMRequest", s3_request))
        stack.enter_context(
            mock.patch.object(access_control, "IAMPolicyStatement", _statement_class())
        )
        for response_class, determine in (
            (SecretsManagerResponse, _secret_resource),
            (GlueResponse, _glue_resource),
            (LambdaResponse, _function_resource),
        ):
            stack.enter_context(
                mock.patch.object(response_class, "_determine_resource", determine, create=True)
            )
        stack.enter_context(
            mock.patch.object(
                lambda_eval_utils, "boto_client_for", _ExecutionClients(endpoint, execution_role)
            )
        )
        previous = _set_no_auth_count(endpoint, "0")
        try:
            yield
        finally:
            _set_no_auth_count(endpoint, previous)


def _set_no_auth_count(endpoint: str, count: str) -> str:
    """Set moto's INITIAL_NO_AUTH_ACTION_COUNT through its server; return the previous value."""
    response = requests.post(f"{endpoint}/moto-api/reset-auth", data=count.encode(), timeout=10)
    response.raise_for_status()
    previous: str = json.loads(response.text)["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]
    return previous


class _ExecutionClients:
    """moto's ASL interpreter's clients, signed with the state machine role's session.

    moto gives them fixed keys that no identity holds; Step Functions calls with the machine's
    role. One client per service and region (moto makes one per call), with moto's own settings:
    no retries (the definition's Retry does that) and its long timeouts.
    """

    def __init__(self, endpoint: str, role: AccessKey) -> None:
        self._endpoint = endpoint
        self._role = role
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import (
            TimeoutSeconds,
        )

        with self._lock:
            client = self._clients.get((region, service))
            if client is None:
                client = self._clients[(region, service)] = boto3.client(
                    service,
                    region_name=region,
                    endpoint_url=self._endpoint,
                    **self._role.client_credentials(),
                    config=Config(
                        parameter_validation=False,
                        retries={"max_attempts": 0, "total_max_attempts": 1},
                        connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                        read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    ),
                )
            return client
