"""Each function's calls to AWS signed with its own role's session, with the handlers unchanged.

Lambda puts the role session's keys into the environment of the function's own container, where
boto3's credential chain finds them. Here every function runs in this one process, several at a
time (concurrent executions), so one environment cannot hold four roles; and the handlers keep
their boto3 clients across invocations (per container in Lambda, per process here), so a client
made by one function is used by the next. Credentials are therefore bound to the invocation,
not to a client or to the environment, while ``routed`` is active:

- the running invocation's role session is a context variable, set in the invocation's thread
  (``as_role``) and inherited by every thread it starts, as Python 3.14's
  ``thread_inherit_context`` makes threads do (the transform's page downloads and S3's transfer
  threads are such threads);
- every botocore session made meanwhile (boto3's default session, and any a handler or a library
  makes) has first in its credential chain credentials that read that variable at each request:
  each request is signed with the role of the function that makes it, whichever client it goes
  through, cached or not. Outside an invocation they are the environment's (the harness's).

Not covered: a thread started before an invocation and reused by it (no handler keeps one) signs
with the environment's credentials.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import botocore.credentials
from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    Credentials,
    EnvProvider,
    ReadOnlyCredentials,
)
from botocore.exceptions import NoCredentialsError

from local.aws_identities import AccessKey

_INVOCATION_ROLE: contextvars.ContextVar[AccessKey | None] = contextvars.ContextVar(
    "local_invocation_role", default=None
)
METHOD = "local-invocation-role"


class _InvocationCredentials(Credentials):
    """Credentials read at each request: the running invocation's role, else the environment's."""

    method = METHOD

    def __init__(self) -> None:  # no fixed keys: nothing of Credentials' own state is used
        pass

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        session = _INVOCATION_ROLE.get()
        if session is not None:
            return ReadOnlyCredentials(
                session.access_key_id, session.secret_access_key, session.session_token
            )
        environment = EnvProvider().load()
        if environment is None:
            raise NoCredentialsError()
        frozen: ReadOnlyCredentials = environment.get_frozen_credentials()
        return frozen

    @property
    def access_key(self) -> str:
        return str(self.get_frozen_credentials().access_key)

    @property
    def secret_key(self) -> str:
        return str(self.get_frozen_credentials().secret_key)

    @property
    def token(self) -> str | None:
        token: str | None = self.get_frozen_credentials().token
        return token

    @property
    def account_id(self) -> str | None:
        account_id: str | None = self.get_frozen_credentials().account_id
        return account_id


class _InvocationProvider(CredentialProvider):
    METHOD = METHOD
    CANONICAL_NAME = "LocalInvocationRole"

    def load(self) -> Credentials:
        return _InvocationCredentials()


def as_role(session: AccessKey, handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``handler``, calling AWS as ``session``'s role (it runs in the invocation's own thread)."""

    def with_role(event: Any, context: Any) -> Any:
        token = _INVOCATION_ROLE.set(session)
        try:
            return handler(event, context)
        finally:
            _INVOCATION_ROLE.reset(token)

    return with_role


@contextmanager
def routed() -> Iterator[None]:
    """Until exit, botocore sessions made in this process sign as the running invocation's role."""
    original_resolver = botocore.credentials.create_credential_resolver
    original_start = threading.Thread.start
    original_default_session = boto3.DEFAULT_SESSION

    def create_credential_resolver(*args: Any, **kwargs: Any) -> CredentialResolver:
        resolver: CredentialResolver = original_resolver(*args, **kwargs)
        resolver.insert_before(EnvProvider.METHOD, _InvocationProvider())
        return resolver

    def start(thread: threading.Thread) -> None:
        if _INVOCATION_ROLE.get() is not None:
            context = contextvars.copy_context()
            run = thread.run
            thread.run = lambda: context.run(run)  # type: ignore[method-assign]
        original_start(thread)

    botocore.credentials.create_credential_resolver = create_credential_resolver
    threading.Thread.start = start  # type: ignore[method-assign,assignment]
    boto3.DEFAULT_SESSION = None  # the next default session is made with the resolver above
    try:
        yield
    finally:
        botocore.credentials.create_credential_resolver = original_resolver
        threading.Thread.start = original_start  # type: ignore[method-assign]
        boto3.DEFAULT_SESSION = original_default_session
