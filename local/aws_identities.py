"""The identities the local run calls AWS (moto) with.

The template's roles are created in moto's IAM with their policies as synthesized
(``template_resources``). Each function then calls AWS with a session of its own role
(``sts:AssumeRole``, as Lambda does; moto evaluates a session's requests against the role's
policies as they are at that request), the execution with the state machine role's session, and
the harness and the tests with an administrator user's access key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ADMIN_USER_NAME = "local-administrator"
_ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
# STS's longest role session name.
_SESSION_NAME_LIMIT = 64


@dataclass(frozen=True)
class AccessKey:
    """An access key: an IAM user's, or a role session's (with its token, as Lambda gives a
    function its role's session in its environment)."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def client_credentials(self) -> dict[str, str]:
        """As ``boto3.client`` takes them."""
        credentials = {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
        }
        if self.session_token is not None:
            credentials["aws_session_token"] = self.session_token
        return credentials


def create_administrator(iam: Any) -> AccessKey:
    """A user allowed everything, for the harness and the tests (not for the functions)."""
    iam.create_user(UserName=ADMIN_USER_NAME)
    iam.put_user_policy(
        UserName=ADMIN_USER_NAME, PolicyName="everything", PolicyDocument=json.dumps(_ADMIN_POLICY)
    )
    key = iam.create_access_key(UserName=ADMIN_USER_NAME)["AccessKey"]
    return AccessKey(key["AccessKeyId"], key["SecretAccessKey"])


def assume(sts: Any, role_arn: str, session_name: str) -> AccessKey:
    """A session of the role (Lambda names a function's session after the function)."""
    credentials = sts.assume_role(
        RoleArn=role_arn, RoleSessionName=session_name[:_SESSION_NAME_LIMIT]
    )["Credentials"]
    return AccessKey(
        access_key_id=credentials["AccessKeyId"],
        secret_access_key=credentials["SecretAccessKey"],
        session_token=credentials["SessionToken"],
    )
