"""The workflow: the four Lambdas of stacks/functions.py and the state machine that runs them.

Each row of the function table becomes one function with its own log group and its own role
(statements from stacks/iam.py); the state machine (stacks/state_machine.py) then invokes them.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import compliance
from stacks import constants as c
from stacks.bundling import lambda_code
from stacks.config import StackConfig
from stacks.functions import FUNCTIONS, FunctionSpec
from stacks.iam import GrantTargets, function_statements
from stacks.state_machine import build_state_machine
from usage_pipeline import constants as rc


class Workflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        key: kms.IKey,
        source_bucket: s3.IBucket,
        secret_arn: str,
        secret_id: str,
        secret_encrypted_with_key: bool,
        crawler_name: str,
        crawler_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self._key = key
        self._bucket = source_bucket
        self._removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self._code = lambda_code()
        self._targets = GrantTargets(
            bucket=source_bucket,
            key=key,
            secret_arn=secret_arn,
            secret_encrypted_with_key=secret_encrypted_with_key,
            crawler_arn=crawler_arn,
        )
        # The value of every variable a row of the function table may ask for (contracts 7).
        self._environment = {
            rc.ENV_SOURCE_BUCKET: source_bucket.bucket_name,
            rc.ENV_GENESYS_ENVIRONMENT: config.genesys_environment,
            rc.ENV_GENESYS_SECRET_ID: secret_id,
            rc.ENV_POLL_INITIAL_WAIT_SECONDS: str(rc.DEFAULT_POLL_INITIAL_WAIT_SECONDS),
            rc.ENV_POLL_MAX_WAIT_SECONDS: str(rc.DEFAULT_POLL_MAX_WAIT_SECONDS),
            rc.ENV_JOB_TIMEOUT_SECONDS: str(config.job_timeout_seconds),
            rc.ENV_PAGE_SIZE: str(rc.DEFAULT_PAGE_SIZE),
            rc.ENV_GLUE_CRAWLER_NAME: crawler_name,
        }
        # By construct id (the rows of stacks/functions.py).
        self.functions: dict[str, lambda_.Function] = {
            spec.construct_id: self._build_function(spec) for spec in FUNCTIONS
        }
        self.state_machine = build_state_machine(
            self,
            functions=self.functions,
            key=key,
            removal=self._removal,
            job_timeout_minutes=config.job_timeout_minutes,
        )

    def _build_function(self, spec: FunctionSpec) -> lambda_.Function:
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
        for statement in function_statements(spec, self._targets, log_group):
            role.add_to_policy(statement)
        function = lambda_.Function(
            self,
            f"{spec.construct_id}Function",
            description=spec.description,
            code=self._code,
            handler=spec.handler,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            ephemeral_storage_size=Size.mebibytes(spec.ephemeral_mb),
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                **{name: self._environment[name] for name in spec.environment},
                "POWERTOOLS_SERVICE_NAME": rc.SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": rc.METRICS_NAMESPACE,
                "LOG_LEVEL": c.LOG_LEVEL,
            },
        )
        compliance.apply(function, compliance.LAMBDA_FUNCTION)
        compliance.apply(
            role.node.find_child("DefaultPolicy"),
            compliance.lambda_role_policy(self._bucket, spec.object_patterns),
        )
        return function
