"""The whole pipeline on this machine: simulator + moto on 127.0.0.1, the synthesized definition.

`LocalPipeline` is what `python -m local.run` and the integration tests share. It starts the Genesys
Cloud simulator and a moto server on loopback, provisions from the synthesized template what an
execution touches, routes Lambda invocations to the handlers in-process, and executes the state
machine definition exactly as `cdk synth` wrote it with moto's ASL interpreter.

IAM is enforced as deployed (``enforce_iam``, on by default): the template's roles and policies
are created in moto, each function calls AWS as its own role, the execution as the state
machine's, and moto refuses what their policies do not allow (``local/iam_enforcement.py`` says
what is and is not checked). The harness and the tests call as an administrator.

One pipeline can serve many tests: `reset` returns it to the state it had right after starting,
and `leftovers` lists whatever still differs from that state.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import boto3
import duckdb
import requests

from local.aws_identities import AccessKey, assume, create_administrator
from local.clock import utc_day
from local.iam_enforcement import enforced
from local.lambda_runtime import HandlerWrapper, InProcessLambdas, merged_environment
from local.template_resources import (
    ACCOUNT_ID,
    REGION,
    ProvisionedPipeline,
    load_template,
    provision,
)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = ROOT / "cdk.out" / "GenesysApiUsage.template.json"
TERMINAL_STATUSES = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}

# The process environment the moto server's clients need (set on start, restored on close).
MOTO_ENVIRONMENT = (
    "AWS_ENDPOINT_URL",
    "MOTO_PORT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
)

StateListener = Callable[[str, str], None]


@dataclass
class ExecutionReport:
    """What one execution did, as ops would read it from the console."""

    name: str
    arn: str
    status: str
    error: str | None
    cause: str | None
    states: list[str]
    transitions: int
    seconds: float
    output: dict[str, Any] | None
    rows_by_partition: dict[str, int] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


class LocalPipeline:
    """A context manager owning the simulator, the moto server and the provisioned pipeline.

    ``today`` pins the UTC day of the whole run (local/clock.py): the executions' start time, the
    Lambdas' clock and the simulator read it while the pipeline is open.
    """

    # moto's backends and its IAM enforcement are the process's: one pipeline runs at a time.
    _running: ClassVar[LocalPipeline | None] = None

    def __init__(
        self,
        *,
        template_path: Path = DEFAULT_TEMPLATE,
        client_id: str = "local-client",
        client_secret: str = "local-secret",  # noqa: S107 - the simulator's documented default
        seed: int = 42,
        polls_until_done: int = 2,
        today: date | None = None,
        env_overrides: Mapping[str, str] | None = None,
        simulator_options: Mapping[str, Any] | None = None,
        lambda_timeout_seconds: float | None = None,
        wrap_handler: HandlerWrapper | None = None,
        enforce_iam: bool = True,
    ) -> None:
        self._template_path = template_path
        self._client_id = client_id
        self._client_secret = client_secret
        self._seed = seed
        self._polls_until_done = polls_until_done
        self._today = today
        self._env_overrides = dict(env_overrides or {})
        self._simulator_options = dict(simulator_options or {})
        self._lambda_timeout_seconds = lambda_timeout_seconds
        self._wrap_handler = wrap_handler
        self._enforce_iam = enforce_iam
        # Who the harness calls AWS as: anyone until IAM is enforced, then the administrator.
        self._access_key = AccessKey("local", "local")
        self._role_sessions: dict[str, AccessKey] = {}  # by function name, once enforced
        self._stack: list[Callable[[], None]] = []
        self.simulator: Any = None
        self.resources: ProvisionedPipeline | None = None
        self.lambdas: InProcessLambdas | None = None
        self.aws_endpoint = ""
        self._clients: dict[str, Any] = {}
        # The state right after start, which `reset` returns to: the simulator's settings, the
        # secret's value and the process environment that the Lambdas and moto's clients read
        # (None: the variable was not set).
        self._started_settings: dict[str, Any] = {}
        self._started_secret = ""
        self._started_environment: dict[str, str | None] = {}

    # --- lifecycle --------------------------------------------------------------------------
    def __enter__(self) -> LocalPipeline:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        while self._stack:
            self._stack.pop()()

    def _start(self) -> None:
        from local.genesys_simulator import SimulatorServer

        if LocalPipeline._running is not None:
            raise RuntimeError(
                "another LocalPipeline runs in this process; close it first "
                "(moto's backends are process-wide)"
            )
        LocalPipeline._running = self

        def stopped() -> None:
            LocalPipeline._running = None

        self._stack.append(stopped)

        template = load_template(self._template_path)
        if self._today is not None:
            # First in, last out: the simulator, moto and the Lambdas all read the pinned clock.
            pinned = utc_day(self._today)
            pinned.__enter__()

            def unpin() -> None:
                pinned.__exit__(None, None, None)

            self._stack.append(unpin)
        simulator_kwargs: dict[str, Any] = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "seed": self._seed,
            "polls_until_done": self._polls_until_done,
            **self._simulator_options,
        }
        if self._today is not None:
            simulator_kwargs["today"] = self._today
        simulator = SimulatorServer(**simulator_kwargs)
        self.simulator = simulator.__enter__()

        def stop_simulator() -> None:
            simulator.__exit__(None, None, None)

        self._stack.append(stop_simulator)

        self._start_moto()
        self.resources = provision(
            template,
            session_client=self.client,
            secret_value={"clientId": self._client_id, "clientSecret": self._client_secret},
        )
        role_sessions = self._enforce_iam_as_deployed() if self._enforce_iam else None
        overrides = {
            "GENESYS_LOGIN_URL": self.simulator.base_url,
            "GENESYS_API_URL": self.simulator.base_url,
            **self._env_overrides,
        }
        self.lambdas = InProcessLambdas(
            self.resources.lambdas,
            env_overrides=overrides,
            timeout_seconds=self._lambda_timeout_seconds,
            wrap_handler=self._wrap_handler,
            role_sessions=role_sessions,
        )
        installed = self.lambdas.installed()
        installed.__enter__()

        def uninstall() -> None:
            installed.__exit__(None, None, None)

        self._stack.append(uninstall)
        self._started_settings = self.simulator.configure()
        self._started_secret = self._secret_value()
        lambda_environment = {**merged_environment(self.resources.lambdas), **overrides}
        self._started_environment = {
            key: os.environ.get(key) for key in (*MOTO_ENVIRONMENT, *lambda_environment)
        }

    def _start_moto(self) -> None:
        from moto.core.config import default_user_config
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        # moto executes ASL only when asked to; its Docker-less Lambda backend is replaced by the
        # in-process runtime, so no container is ever needed.
        saved_config = json.loads(json.dumps(default_user_config))
        default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
        default_user_config.setdefault("lambda", {})["use_docker"] = False

        saved_environ = {key: os.environ.get(key) for key in MOTO_ENVIRONMENT}
        # moto's server logs every request through werkzeug; the run reports its own progress.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self.aws_endpoint = f"http://{host}:{port}"
        # moto's backends live in this process, not in the server: start from an empty account.
        requests.post(f"{self.aws_endpoint}/moto-api/reset", timeout=10).raise_for_status()
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.aws_endpoint,
                # moto's ASL interpreter calls Lambda through localhost:MOTO_PORT.
                "MOTO_PORT": str(port),
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
            }
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)  # would be sent with the access key above

        def stop() -> None:
            server.stop()
            self._clients.clear()
            for key, value in saved_environ.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            for key in list(default_user_config):
                del default_user_config[key]  # type: ignore[misc]
            default_user_config.update(saved_config)

        self._stack.append(stop)

    def _enforce_iam_as_deployed(self) -> dict[str, AccessKey]:
        """Turn moto's IAM enforcement on; return each function's role session, by its name.

        The sessions and the administrator are made first: once enforcement is on, only a
        caller that moto knows, allowed by its policies, gets an answer.
        """
        resources = self._resources()
        administrator = create_administrator(self.client("iam"))
        sts = self.client("sts")
        sessions = {
            spec.name: assume(sts, spec.role_arn, spec.name)
            for spec in resources.lambdas.values()
            if spec.role_arn is not None
        }
        execution = assume(sts, resources.state_machine_role_arn, "local-execution")
        enforcement = enforced(self.aws_endpoint, execution)
        enforcement.__enter__()

        def stop_enforcing() -> None:
            enforcement.__exit__(None, None, None)

        self._stack.append(stop_enforcing)
        self._role_sessions = sessions
        self._access_key = administrator
        self._clients.clear()
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": administrator.access_key_id,
                "AWS_SECRET_ACCESS_KEY": administrator.secret_access_key,
            }
        )
        return sessions

    def client_as(self, handler: str, service: str) -> Any:
        """A boto3 client calling as the role of the function running ``handler``, as it does."""
        spec = self._resources().lambdas[handler]
        if spec.name not in self._role_sessions:
            raise RuntimeError("functions have roles of their own only while IAM is enforced")
        return boto3.client(
            service,
            endpoint_url=self.aws_endpoint,
            region_name=REGION,
            **self._role_sessions[spec.name].client_credentials(),
        )

    def client(self, service: str) -> Any:
        """A boto3 client of the moto server, one per service: creating one costs ~50 ms of CPU."""
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.aws_endpoint,
                region_name=REGION,
                **self._access_key.client_credentials(),
            )
        return self._clients[service]

    # --- one pipeline for many tests ---------------------------------------------------------
    def override_environment(self, **values: str) -> None:
        """Give the Lambdas these environment variables until `reset` (as a redeploy would)."""
        for key, value in values.items():
            self._started_environment.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        InProcessLambdas.clear_container_caches()

    def environment_keys(self) -> list[str]:
        """The process environment variables this pipeline sets (restored by `reset`)."""
        return list(self._started_environment)

    def reset(self) -> None:
        """Return to the state right after start, so whatever one test did, the next never sees.

        Running executions are stopped first (they would go on writing), then forgotten (names
        of past executions matter to a backfill); the buckets lose every object version; the
        crawler is created anew; the secret and the process environment (the Lambdas' variables,
        moto's endpoint) get their first values back; warm-container caches are forgotten; the
        simulator loses its faults, settings, counts and issued tokens.
        """
        self._stop_running_executions()
        self._forget_executions()
        for bucket in self._buckets():
            self._empty_bucket(bucket)
        self._recreate_crawler()
        if self._secret_value() != self._started_secret:
            self.client("secretsmanager").put_secret_value(
                SecretId=self._resources().secret_id, SecretString=self._started_secret
            )
        for key, value in self._started_environment.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        InProcessLambdas.clear_container_caches()
        assert self.lambdas is not None
        self.lambdas.invocations.clear()
        self.simulator.clear_faults()
        self.simulator.configure(**self._started_settings)
        self.simulator.expire_tokens()  # a token cached anywhere is refused: each test logs in
        self.simulator.reset_stats()

    def leftovers(self) -> list[str]:
        """What differs from the state right after start; empty when a test starts clean."""
        found: list[str] = []
        for bucket in self._buckets():
            versions = self._object_versions(bucket)
            if versions:
                found.append(f"{len(versions)} object versions in bucket {bucket}")
        executions = self.client("stepfunctions").list_executions(
            stateMachineArn=self._resources().state_machine_arn
        )["executions"]
        if executions:
            found.append(f"{len(executions)} executions of the state machine")
        crawler = self._resources().crawler
        if crawler and "LastCrawl" in self.client("glue").get_crawler(Name=crawler)["Crawler"]:
            found.append(f"crawler {crawler} has crawled")
        if self._secret_value() != self._started_secret:
            found.append("the secret holds another value")
        found.extend(
            f"environment variable {key} is {os.environ.get(key)!r}, not {value!r}"
            for key, value in self._started_environment.items()
            if os.environ.get(key) != value
        )
        if self.simulator.faults():
            found.append(f"simulator faults {self.simulator.faults()}")
        if self.simulator.configure() != self._started_settings:
            found.append(f"simulator settings {self.simulator.configure()}")
        if self.simulator.stats()["totalRequests"]:
            found.append(f"simulator counted {self.simulator.stats()['totalRequests']} requests")
        return found

    def _resources(self) -> ProvisionedPipeline:
        if self.resources is None:
            raise RuntimeError("the pipeline is not running; use it in a with block")
        return self.resources

    def _buckets(self) -> list[str]:
        resources = self._resources()
        return [b for b in (resources.source_bucket, resources.results_bucket) if b is not None]

    def _secret_value(self) -> str:
        response = self.client("secretsmanager").get_secret_value(
            SecretId=self._resources().secret_id
        )
        value: str = response["SecretString"]
        return value

    def _stop_running_executions(self, timeout_seconds: float = 60.0) -> None:
        sfn = self.client("stepfunctions")
        machine = self._resources().state_machine_arn
        running = sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")
        arns = [execution["executionArn"] for execution in running["executions"]]
        for arn in arns:
            sfn.stop_execution(executionArn=arn)
        deadline = time.monotonic() + timeout_seconds
        while any(sfn.describe_execution(executionArn=a)["status"] == "RUNNING" for a in arns):
            if time.monotonic() > deadline:
                raise TimeoutError(f"executions still running {timeout_seconds} s after a stop")
            time.sleep(0.05)
        assert self.lambdas is not None
        self.lambdas.wait_until_idle(max(0.0, deadline - time.monotonic()))

    def _forget_executions(self) -> None:
        # Step Functions cannot delete an execution; recreating the machine would, but parsing its
        # definition again costs 0.2 s. moto's backend lives in this process (the one its server
        # answers from, which depends on execute_state_machine): empty the list.
        from moto.stepfunctions.responses import get_backend

        backend = get_backend(ACCOUNT_ID, REGION)
        backend.describe_state_machine(self._resources().state_machine_arn).executions.clear()

    def _recreate_crawler(self) -> None:
        name = self._resources().crawler
        if name is None:
            return
        glue = self.client("glue")
        crawler = glue.get_crawler(Name=name)["Crawler"]
        if "LastCrawl" not in crawler:
            return
        glue.delete_crawler(Name=name)
        glue.create_crawler(
            Name=name,
            Role=crawler["Role"],
            DatabaseName=crawler["DatabaseName"],
            Targets=crawler["Targets"],
        )

    def _object_versions(self, bucket: str) -> list[dict[str, str]]:
        versions: list[dict[str, str]] = []
        for page in self.client("s3").get_paginator("list_object_versions").paginate(Bucket=bucket):
            for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                versions.append({"Key": item["Key"], "VersionId": item["VersionId"]})
        return versions

    def _empty_bucket(self, bucket: str) -> None:
        versions = self._object_versions(bucket)
        s3 = self.client("s3")
        for start in range(0, len(versions), 1000):  # delete_objects takes 1000 keys at most
            s3.delete_objects(
                Bucket=bucket, Delete={"Objects": versions[start : start + 1000], "Quiet": True}
            )

    # --- executions -------------------------------------------------------------------------
    def start(
        self, execution_input: Any = None, *, name: str | None = None, input_json: str | None = None
    ) -> str:
        """Start an execution with `execution_input` (any JSON value) or `input_json` as written."""
        assert self.resources is not None
        body = (
            input_json
            if input_json is not None
            else json.dumps({} if execution_input is None else execution_input)
        )
        response = self.client("stepfunctions").start_execution(
            stateMachineArn=self.resources.state_machine_arn,
            name=name or f"local-{uuid.uuid4().hex[:12]}",
            input=body,
        )
        arn: str = response["executionArn"]
        return arn

    def wait(
        self,
        execution_arn: str,
        *,
        on_state: StateListener | None = None,
        timeout_seconds: float = 600.0,
    ) -> ExecutionReport:
        sfn = self.client("stepfunctions")
        started = time.monotonic()
        seen_events = 0
        states: list[str] = []
        while True:
            description = sfn.describe_execution(executionArn=execution_arn)
            finished = description["status"] in TERMINAL_STATUSES
            # The history only when someone follows the states, or once at the end: reading it
            # every poll costs CPU that the execution's own handlers (in this process) need.
            if on_state is not None or finished:
                events = self._history(execution_arn)
                for event in events[seen_events:]:
                    details = event.get("stateEnteredEventDetails")
                    if event["type"].endswith("StateEntered") and details:
                        states.append(details["name"])
                        if on_state is not None:
                            on_state(details["name"], event["type"])
                seen_events = len(events)
            if finished:
                break
            if time.monotonic() - started > timeout_seconds:
                raise TimeoutError(f"{execution_arn} still {description['status']}")
            time.sleep(0.05 if on_state is not None else 0.02)
        output = json.loads(description["output"]) if description.get("output") else None
        report = ExecutionReport(
            name=description["name"],
            arn=execution_arn,
            status=description["status"],
            error=description.get("error"),
            cause=description.get("cause"),
            states=states,
            transitions=len(states),
            seconds=time.monotonic() - started,
            output=output,
        )
        if report.succeeded and output and "landed" in output:
            report.rows_by_partition = self._rows_by_partition(output["landed"]["manifestKey"])
        return report

    def execute(
        self,
        execution_input: Any = None,
        *,
        name: str | None = None,
        input_json: str | None = None,
        on_state: StateListener | None = None,
    ) -> ExecutionReport:
        arn = self.start(execution_input, name=name, input_json=input_json)
        return self.wait(arn, on_state=on_state)

    def _history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = self.client("stepfunctions")
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
            if token:
                kwargs["nextToken"] = token
            page = sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            token = page.get("nextToken")
            if not token:
                return events

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        return self._history(execution_arn)

    def _rows_by_partition(self, manifest_key: str) -> dict[str, int]:
        manifest = self.read_json(manifest_key)
        rows: dict[str, int] = {}
        for partition in manifest.get("partitions", []):
            rows[partition["key"]] = int(partition["rows"])
        return rows

    # --- the source bucket ------------------------------------------------------------------
    @property
    def source_bucket(self) -> str:
        assert self.resources is not None
        return self.resources.source_bucket

    def keys(self, prefix: str = "") -> list[str]:
        s3 = self.client("s3")
        keys: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.source_bucket, Prefix=prefix
        ):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)

    def read_bytes(self, key: str) -> bytes:
        body: bytes = (
            self.client("s3").get_object(Bucket=self.source_bucket, Key=key)["Body"].read()
        )
        return body

    def read_json(self, key: str) -> Any:
        return json.loads(self.read_bytes(key))

    def usage_rows(self) -> list[dict[str, Any]]:
        """Every row the table holds now, read straight from the landed Parquet objects."""
        with tempfile.TemporaryDirectory(prefix="usage-rows-") as work_dir:
            return parquet_rows(self._download_keys(self.keys("usage/"), Path(work_dir)))

    def usage_rows_by_key(self) -> dict[str, list[dict[str, Any]]]:
        """The rows of each object of the table, by key."""
        with tempfile.TemporaryDirectory(prefix="usage-rows-") as work_dir:
            return {
                key: parquet_rows(self._download_keys([key], Path(work_dir)))
                for key in self.keys("usage/")
            }

    def download(self, target: Path) -> list[Path]:
        """Copy the whole source bucket to `target`, keys as relative paths."""
        return self._download_keys(self.keys(), target)

    def iter_partitions(self) -> Iterator[tuple[str, int]]:
        """(key, number of rows) of every object of the table."""
        for key, rows in self.usage_rows_by_key().items():
            yield key, len(rows)

    def _download_keys(self, keys: Iterable[str], target: Path) -> list[Path]:
        written: list[Path] = []
        for key in keys:
            path = target / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.read_bytes(key))
            written.append(path)
        return written


def parquet_rows(files: Iterable[Path]) -> list[dict[str, Any]]:
    """Every row of the given Parquet files, as dicts keyed by the files' own columns, in order."""
    paths = [str(path) for path in files]
    if not paths:
        return []
    with duckdb.connect() as connection:
        result = connection.execute(
            "SELECT * FROM read_parquet($files, hive_partitioning = false, union_by_name = true)",
            {"files": paths},
        )
        names = [description[0] for description in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
