"""The four Lambdas (one asset, one role each) and the Step Functions state machine that runs them.

The definition follows docs/contracts.md sections 3 and 4: every handler receives and returns the
whole state document (``$.Payload`` replaces the state), the Choice switches on ``$.job.state``,
and each task has its own timeout, retries for transient errors only, and a catch-all into a Fail
state named after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks import constants as c
from stacks.bundling import lambda_code
from stacks.compliance import acknowledge, arn_finding, skip_checkov
from stacks.config import PipelineConfig
from stacks.encryption import via_service
from usage_pipeline import constants as rc

XRAY_REASON = (
    "X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions; AWS "
    "requires Resource '*'. Added by CDK for active tracing."
)


@dataclass(frozen=True)
class FunctionSpec:
    construct_id: str
    handler: str
    size: tuple[int, int, int]  # memory MB, timeout s, ephemeral storage MB
    description: str


SUBMIT_QUERY = FunctionSpec(
    c.SUBMIT_QUERY_ID,
    rc.HANDLER_SUBMIT_QUERY,
    c.SUBMIT_QUERY_SIZE,
    "Validate the input, get a token, submit the Genesys usage query",
)
POLL_STATUS = FunctionSpec(
    c.POLL_STATUS_ID,
    rc.HANDLER_POLL_STATUS,
    c.POLL_STATUS_SIZE,
    "Poll the Genesys job; when complete store every page in raw/",
)
TRANSFORM = FunctionSpec(
    c.TRANSFORM_ID,
    rc.HANDLER_TRANSFORM,
    c.TRANSFORM_SIZE,
    "Raw pages -> validated Parquet partitions in staging/",
)
LAND = FunctionSpec(
    c.LAND_ID,
    rc.HANDLER_LAND,
    c.LAND_SIZE,
    "Replace the run's partitions in usage/, write the manifest, start the crawler",
)


class Pipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        key: kms.IKey,
        source_bucket: s3.IBucket,
        secret_arn: str,
        secret_id: str,
        secret_encrypted_with_key: bool,
        crawler_name: str,
        crawler_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._key = key
        self._bucket = source_bucket
        self._removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self._code = lambda_code()

        genesys_env = {
            rc.ENV_GENESYS_ENVIRONMENT: config.genesys_environment,
            rc.ENV_GENESYS_SECRET_ID: secret_id,
            rc.ENV_POLL_INITIAL_WAIT_SECONDS: str(rc.DEFAULT_POLL_INITIAL_WAIT_SECONDS),
            rc.ENV_POLL_MAX_WAIT_SECONDS: str(rc.DEFAULT_POLL_MAX_WAIT_SECONDS),
            rc.ENV_JOB_TIMEOUT_SECONDS: str(config.job_timeout_seconds),
        }
        bucket_env = {rc.ENV_SOURCE_BUCKET: source_bucket.bucket_name}
        read_secret = self._secret_statements(secret_arn, secret_encrypted_with_key)

        self.submit_query = self._build_function(SUBMIT_QUERY, genesys_env, read_secret)
        self.poll_status = self._build_function(
            POLL_STATUS,
            {**bucket_env, **genesys_env, rc.ENV_PAGE_SIZE: str(rc.DEFAULT_PAGE_SIZE)},
            [
                *read_secret,
                self._object_statement("WriteRawPages", "s3:PutObject", rc.RAW_PREFIX),
                self._s3_key_statement(),
            ],
            prefixes=(rc.RAW_PREFIX,),
        )
        self.transform = self._build_function(
            TRANSFORM,
            bucket_env,
            [
                self._object_statement("ReadRawPages", "s3:GetObject", rc.RAW_PREFIX),
                self._object_statement("WriteStaging", "s3:PutObject", rc.STAGING_PREFIX),
                self._s3_key_statement(),
            ],
            prefixes=(rc.RAW_PREFIX, rc.STAGING_PREFIX),
        )
        self.land = self._build_function(
            LAND,
            {**bucket_env, rc.ENV_GLUE_CRAWLER_NAME: crawler_name},
            self._land_statements(crawler_arn),
            prefixes=(rc.STAGING_PREFIX, rc.MANIFESTS_PREFIX, rc.USAGE_PREFIX),
        )
        self.functions = {
            SUBMIT_QUERY.construct_id: self.submit_query,
            POLL_STATUS.construct_id: self.poll_status,
            TRANSFORM.construct_id: self.transform,
            LAND.construct_id: self.land,
        }
        self.state_machine = self._build_state_machine()

    # --- IAM ------------------------------------------------------------------------------------

    def _secret_statements(
        self, secret_arn: str, encrypted_with_key: bool
    ) -> list[iam.PolicyStatement]:
        statements = [
            iam.PolicyStatement(
                sid="ReadGenesysSecret",
                actions=["secretsmanager:GetSecretValue"],
                resources=[secret_arn],
            )
        ]
        if encrypted_with_key:
            statements.append(
                iam.PolicyStatement(
                    sid="DecryptGenesysSecret",
                    actions=["kms:Decrypt"],
                    resources=[self._key.key_arn],
                    conditions=via_service("secretsmanager"),
                )
            )
        return statements

    def _object_statement(self, sid: str, action: str, *prefixes: str) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            sid=sid,
            actions=[action],
            resources=[self._bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes],
        )

    def _s3_key_statement(self) -> iam.PolicyStatement:
        # SSE-KMS objects: GenerateDataKey to write, Decrypt to read (and for multipart uploads).
        return iam.PolicyStatement(
            sid="UseBucketKeyThroughS3",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[self._key.key_arn],
            conditions=via_service("s3"),
        )

    def _land_statements(self, crawler_arn: str) -> list[iam.PolicyStatement]:
        return [
            self._object_statement(
                "ReadStagingAndManifests", "s3:GetObject", rc.STAGING_PREFIX, rc.MANIFESTS_PREFIX
            ),
            self._object_statement(
                "WritePartitionsAndManifests", "s3:PutObject", rc.USAGE_PREFIX, rc.MANIFESTS_PREFIX
            ),
            # Replacing a partition deletes any other object left under its prefix.
            self._object_statement(
                "DeleteStalePartitionObjects", "s3:DeleteObject", rc.USAGE_PREFIX
            ),
            iam.PolicyStatement(
                sid="ListPartitionsAndManifests",
                actions=["s3:ListBucket"],
                resources=[self._bucket.bucket_arn],
                conditions={
                    "StringLike": {"s3:prefix": [f"{rc.USAGE_PREFIX}*", f"{rc.MANIFESTS_PREFIX}*"]}
                },
            ),
            iam.PolicyStatement(
                sid="StartCrawler", actions=["glue:StartCrawler"], resources=[crawler_arn]
            ),
            self._s3_key_statement(),
        ]

    # --- functions ------------------------------------------------------------------------------

    def _build_function(
        self,
        spec: FunctionSpec,
        environment: dict[str, str],
        statements: list[iam.PolicyStatement],
        *,
        prefixes: tuple[str, ...] = (),
    ) -> lambda_.Function:
        memory_mb, timeout_s, ephemeral_mb = spec.size
        log_group = logs.LogGroup(
            self,
            f"{spec.construct_id}Logs",
            retention=c.LOG_RETENTION,
            encryption_key=self._key,
            removal_policy=self._removal,
        )
        role = iam.Role(
            self,
            f"{spec.construct_id}Role",
            description=f"{spec.handler}: only what this handler touches",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        )
        # Own role without AWSLambdaBasicExecutionRole: write to this function's log group only.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
            )
        )
        for statement in statements:
            role.add_to_policy(statement)
        function = lambda_.Function(
            self,
            f"{spec.construct_id}Function",
            description=spec.description,
            code=self._code,
            handler=spec.handler,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_s),
            ephemeral_storage_size=Size.mebibytes(ephemeral_mb),
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                **environment,
                "POWERTOOLS_SERVICE_NAME": rc.SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": rc.METRICS_NAMESPACE,
                "LOG_LEVEL": c.LOG_LEVEL,
            },
        )
        self._acknowledge_function(function, role, prefixes)
        return function

    def _acknowledge_function(
        self, function: lambda_.Function, role: iam.Role, prefixes: tuple[str, ...]
    ) -> None:
        policy = role.node.find_child("DefaultPolicy")
        acknowledge(policy, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
        for prefix in prefixes:
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[{arn_finding(self._bucket, f'/{prefix}*')}]",
                f"Object keys under {prefix} carry the run id or the partition, so they are "
                "created per run; the grant is limited to this prefix of the pipeline's bucket.",
            )
        acknowledge(
            function,
            "Serverless-LambdaDLQ",
            "Invoked synchronously by Step Functions, which retries and catches failures; a DLQ "
            "only applies to asynchronous invocations.",
        )
        skip_checkov(
            function,
            "CKV_AWS_116",
            "Invoked synchronously by Step Functions (Retry/Catch); DLQs apply to async invokes.",
        )
        skip_checkov(
            function,
            "CKV_AWS_117",
            "Calls only public endpoints (Genesys Cloud, S3, Glue, Secrets Manager); no VPC "
            "resources to reach, and a VPC would need NAT for Genesys.",
        )
        skip_checkov(
            function,
            "CKV_AWS_115",
            "Concurrency is bounded by the state machine (one task per execution); reserving "
            "concurrency would fail deploys in accounts with the default unreserved minimum.",
        )
        skip_checkov(
            function,
            "CKV_AWS_173",
            "The environment holds no secrets (bucket, crawler and secret names, tuning numbers); "
            "the credentials are read from Secrets Manager at run time.",
        )

    # --- state machine --------------------------------------------------------------------------

    def _build_state_machine(self) -> sfn.StateMachine:
        submit = self._task(
            c.STATE_SUBMIT_QUERY,
            self.submit_query,
            sfn.TaskInput.from_object(
                {
                    "input": sfn.JsonPath.entire_payload,
                    "execution": {
                        "id": sfn.JsonPath.string_at("$$.Execution.Id"),
                        "name": sfn.JsonPath.string_at("$$.Execution.Name"),
                        "startTime": sfn.JsonPath.string_at("$$.Execution.StartTime"),
                    },
                }
            ),
            c.SUBMIT_QUERY_SIZE[1],
            c.FAIL_SUBMIT_QUERY,
            calls_genesys=True,
            raw_execution_input=True,
        )
        wait = sfn.Wait(
            self,
            c.STATE_WAIT_FOR_JOB,
            comment="poll_status/submit_query decide how long (backoff, Retry-After)",
            time=sfn.WaitTime.seconds_path("$.wait.seconds"),
        )
        state_document = sfn.TaskInput.from_json_path_at("$")
        poll = self._task(
            c.STATE_POLL_STATUS,
            self.poll_status,
            state_document,
            c.POLL_STATUS_SIZE[1],
            c.FAIL_POLL_STATUS,
            calls_genesys=True,
        )
        transform = self._task(
            c.STATE_TRANSFORM, self.transform, state_document, c.TRANSFORM_SIZE[1], c.FAIL_TRANSFORM
        )
        land = self._task(c.STATE_LAND, self.land, state_document, c.LAND_SIZE[1], c.FAIL_LAND)
        done = sfn.Succeed(self, c.STATE_DONE, comment="Partitions landed, crawler started")

        def job_failure(name: str) -> sfn.Fail:
            return sfn.Fail(self, name, error=name, cause_path="$.job.message")

        job_state = "$.job.state"
        choice = (
            sfn.Choice(self, c.STATE_JOB_STATE, comment="Switch on the state document's job.state")
            .when(sfn.Condition.string_equals(job_state, rc.JOB_RUNNING), wait)
            .when(
                sfn.Condition.string_equals(job_state, rc.JOB_COMPLETE),
                transform.next(land).next(done),
            )
            .when(
                sfn.Condition.string_equals(job_state, rc.JOB_FAILED),
                job_failure(c.FAIL_JOB_FAILED),
            )
            .when(
                sfn.Condition.string_equals(job_state, rc.JOB_CANCELLED),
                job_failure(c.FAIL_JOB_CANCELLED),
            )
            .when(
                sfn.Condition.string_equals(job_state, rc.JOB_TIMED_OUT),
                job_failure(c.FAIL_JOB_TIMED_OUT),
            )
            .otherwise(
                sfn.Fail(
                    self,
                    c.STATE_UNKNOWN_JOB_STATE,
                    error=c.STATE_UNKNOWN_JOB_STATE,
                    cause="job.state is none of running, complete, failed, cancelled, timed_out",
                )
            )
        )
        definition = submit.next(wait).next(poll).next(choice)

        log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            retention=c.LOG_RETENTION,
            encryption_key=self._key,
            removal_policy=self._removal,
        )
        machine = sfn.StateMachine(
            self,
            "StateMachine",
            comment="Genesys Cloud API usage -> S3 (contracts: docs/contracts.md)",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.minutes(
                self._config.job_timeout_minutes + c.MACHINE_TIMEOUT_MARGIN_MINUTES
            ),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=log_group,
                level=sfn.LogLevel.ALL,
                # The state document carries no data, but inputs are the operator's business.
                include_execution_data=False,
            ),
        )
        policy = machine.role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Vended-log delivery (logs:*LogDelivery, DescribeLogGroups, resource policies) and "
            "X-Ray tracing have no resource-level permissions; AWS requires Resource '*'.",
        )
        for function in self.functions.values():
            acknowledge(
                policy,
                f"AwsSolutions-IAM5[{arn_finding(function, ':*')}]",
                "CDK's LambdaInvoke grants the function and its versions/aliases (<arn>:*); "
                "the grant stays on this one function.",
            )
        return machine

    def _task(
        self,
        name: str,
        function: lambda_.IFunction,
        payload: sfn.TaskInput,
        lambda_timeout_s: int,
        fail_name: str,
        *,
        calls_genesys: bool = False,
        raw_execution_input: bool = False,
    ) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=function,
            payload=payload,
            # The handler returns the whole state document; it replaces the state.
            output_path="$.Payload",
            retry_on_service_exceptions=False,  # replaced by the retriers below (jitter, cap)
            task_timeout=sfn.Timeout.duration(
                Duration.seconds(lambda_timeout_s + c.TASK_TIMEOUT_MARGIN_SECONDS)
            ),
        )
        # (errors, first interval s, attempts, max delay s, jitter). Lambda service errors
        # always; for Genesys-facing tasks only the transient Genesys errors: input, credential
        # and data errors fail at once. Rate limiting without jitter: the client has already
        # waited out Retry-After, and a jittered retry could come back sooner than Genesys asked.
        retriers: list[tuple[tuple[str, ...], int, int, int, sfn.JitterType]] = [
            (
                c.LAMBDA_SERVICE_ERRORS,
                c.LAMBDA_RETRY_INTERVAL_SECONDS,
                c.LAMBDA_RETRY_MAX_ATTEMPTS,
                c.LAMBDA_RETRY_MAX_DELAY_SECONDS,
                sfn.JitterType.FULL,
            )
        ]
        if calls_genesys:
            retriers += [
                (
                    c.RETRIED_PIPELINE_ERRORS,
                    c.GENESYS_RETRY_INTERVAL_SECONDS,
                    c.GENESYS_RETRY_MAX_ATTEMPTS,
                    c.GENESYS_RETRY_MAX_DELAY_SECONDS,
                    sfn.JitterType.FULL,
                ),
                (
                    c.RATE_LIMITED_ERRORS,
                    c.RATE_LIMIT_RETRY_INTERVAL_SECONDS,
                    c.RATE_LIMIT_RETRY_MAX_ATTEMPTS,
                    c.RATE_LIMIT_RETRY_MAX_DELAY_SECONDS,
                    sfn.JitterType.NONE,
                ),
            ]
        for errors, interval_s, attempts, max_delay_s, jitter in retriers:
            task.add_retry(
                errors=list(errors),
                interval=Duration.seconds(interval_s),
                max_attempts=attempts,
                backoff_rate=c.RETRY_BACKOFF_RATE,
                max_delay=Duration.seconds(max_delay_s),
                jitter_strategy=jitter,
            )
        # The error goes to $.error next to the state document. SubmitQuery's input is the raw
        # execution input, which may be a list, string or number (refused as InvalidInput):
        # ResultPath $.error cannot be set on those and would end in States.Runtime instead, so
        # there the error object replaces the state.
        error_at = "$" if raw_execution_input else "$.error"
        task.add_catch(
            sfn.Fail(
                self,
                fail_name,
                error_path=f"{error_at}.Error",
                cause_path=f"{error_at}.Cause",
            ),
            errors=[sfn.Errors.ALL],
            result_path=error_at,
        )
        return task
