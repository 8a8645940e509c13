"""The Step Functions state machine (docs/contracts.md sections 3 and 4): the flow, then its parts.

Every task passes the whole state document to its function and the function's result replaces the
state. Each task is named after its function (stacks/functions.py), waits the function's timeout
plus a margin, retries what stacks/retry_policy.py says, and catches everything else into a Fail
state named ``<Task>Failed`` that carries the error and its cause.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks import compliance, retry_policy
from stacks import constants as c
from stacks import functions as fn
from stacks.functions import FunctionSpec
from usage_pipeline import constants as rc


def flow(states: States) -> sfn.IChainable:
    """SubmitQuery -> WaitForJob -> PollStatus -> JobState -> PagesLeft -> Transform -> Land.

    A large result outlasts one invocation: PollStatus stores pages while its time allows and
    leaves a cursor in ``raw.next``; PagesLeft loops through WaitForPages (a Retry-After, waited
    here rather than in a sleeping Lambda) and FetchPages (the same function, resuming at the
    cursor) until the last page is stored.

    Any error a task does not retry ends in its Fail state: SubmitQueryFailed, PollStatusFailed,
    FetchPagesFailed, TransformFailed, LandFailed.
    """
    submit = states.task(fn.SUBMIT_QUERY, takes_execution_input=True)
    wait = states.wait(
        "WaitForJob",
        seconds_path="$.wait.seconds",
        comment="poll_status/submit_query decide how long (backoff, Retry-After)",
    )
    poll = states.task(fn.POLL_STATUS)
    transform = states.task(fn.TRANSFORM)
    land = states.task(fn.LAND)
    done = states.succeed("Done", comment="Partitions landed, crawler started")
    wait_for_pages = states.wait(
        "WaitForPages",
        seconds_path="$.wait.seconds",
        comment="0, or the Retry-After a page request was answered with",
    )
    fetch_pages = states.task(fn.POLL_STATUS, name="FetchPages")
    pages_left = states.while_present(
        "PagesLeft",
        path="$.raw.next",
        comment="raw.next is the cursor of the first page not stored yet",
        loop=wait_for_pages,
        done=transform.next(land).next(done),
    )
    wait_for_pages.next(fetch_pages).next(pages_left)
    job_state = states.choice(
        "JobState",
        on="$.job.state",
        comment="Switch on the state document's job.state",
        branches={
            rc.JOB_RUNNING: wait,
            rc.JOB_COMPLETE: pages_left,
            rc.JOB_FAILED: states.fail_with_job_message("GenesysJobFailed"),
            rc.JOB_CANCELLED: states.fail_with_job_message("GenesysJobCancelled"),
            rc.JOB_TIMED_OUT: states.fail_with_job_message("GenesysJobTimedOut"),
        },
        otherwise="UnknownJobState",
    )
    return submit.next(wait).next(poll).next(job_state)


# A task waits this much longer than its Lambda's own timeout before Step Functions gives up, so
# the Lambda's own timeout error (with its log line) is what normally surfaces.
TASK_TIMEOUT_MARGIN_SECONDS = 30
# Machine timeout = jobTimeoutMinutes + this: room for the page download, transform and land after
# the Genesys job has finished, and for a few retries.
MACHINE_TIMEOUT_MARGIN_MINUTES = 45


def build_state_machine(
    scope: Construct,
    *,
    functions: Mapping[str, lambda_.IFunction],
    key: kms.IKey,
    removal: RemovalPolicy,
    job_timeout_minutes: int,
) -> sfn.StateMachine:
    """The machine running ``flow``; ``functions`` by their rows' construct ids."""
    definition = flow(States(scope, functions))
    log_group = logs.LogGroup(
        scope,
        "StateMachineLogs",
        retention=c.LOG_RETENTION,
        encryption_key=key,
        removal_policy=removal,
    )
    machine = sfn.StateMachine(
        scope,
        "StateMachine",
        comment="Genesys Cloud API usage -> S3 (contracts: docs/contracts.md)",
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        state_machine_type=sfn.StateMachineType.STANDARD,
        timeout=Duration.minutes(job_timeout_minutes + MACHINE_TIMEOUT_MARGIN_MINUTES),
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group,
            level=sfn.LogLevel.ALL,
            # The state document carries no data, but inputs are the operator's business.
            include_execution_data=False,
        ),
    )
    compliance.apply(
        machine.role.node.find_child("DefaultPolicy"),
        compliance.state_machine_role_policy(functions.values()),
    )
    return machine


class States:
    """Builds the states of ``flow`` in ``scope`` (state names are construct ids there)."""

    def __init__(self, scope: Construct, functions: Mapping[str, lambda_.IFunction]) -> None:
        self._scope = scope
        self._functions = functions

    def task(
        self, spec: FunctionSpec, *, name: str | None = None, takes_execution_input: bool = False
    ) -> sfn.TaskStateBase:
        """Invoke the function of ``spec``; its result (the state document) replaces the state.

        The task is named after the function unless ``name`` says otherwise. The first task gets
        the raw execution input, and the execution's identity for the run id.
        """
        name = name or spec.construct_id
        if takes_execution_input:
            payload = sfn.TaskInput.from_object(
                {
                    "input": sfn.JsonPath.entire_payload,
                    "execution": {
                        "id": sfn.JsonPath.string_at("$$.Execution.Id"),
                        "name": sfn.JsonPath.string_at("$$.Execution.Name"),
                        "startTime": sfn.JsonPath.string_at("$$.Execution.StartTime"),
                    },
                }
            )
        else:
            payload = sfn.TaskInput.from_json_path_at("$")
        task = tasks.LambdaInvoke(
            self._scope,
            name,
            lambda_function=self._functions[spec.construct_id],
            payload=payload,
            output_path="$.Payload",
            retry_on_service_exceptions=False,  # replaced by the retry policy's retriers
            task_timeout=sfn.Timeout.duration(
                Duration.seconds(spec.timeout_s + TASK_TIMEOUT_MARGIN_SECONDS)
            ),
        )
        retry_policy.add_retries(
            task, calls_genesys=spec.calls_genesys, resumable=spec.resumes_after_interruption
        )
        # The error goes to $.error next to the state document. The raw execution input may be a
        # list, string or number (refused as InvalidInput): ResultPath $.error cannot be set on
        # those and would end in States.Runtime instead, so there the error replaces the state.
        error_at = "$" if takes_execution_input else "$.error"
        task.add_catch(
            sfn.Fail(
                self._scope,
                f"{name}Failed",
                error_path=f"{error_at}.Error",
                cause_path=f"{error_at}.Cause",
            ),
            errors=[sfn.Errors.ALL],
            result_path=error_at,
        )
        return task

    def wait(self, name: str, *, seconds_path: str, comment: str) -> sfn.Wait:
        return sfn.Wait(
            self._scope, name, comment=comment, time=sfn.WaitTime.seconds_path(seconds_path)
        )

    def succeed(self, name: str, *, comment: str) -> sfn.Succeed:
        return sfn.Succeed(self._scope, name, comment=comment)

    def choice(
        self,
        name: str,
        *,
        on: str,
        comment: str,
        branches: Mapping[str, sfn.IChainable],
        otherwise: str,
    ) -> sfn.Choice:
        """Go to ``branches[value of on]``; any other value ends in the Fail state ``otherwise``."""
        choice = sfn.Choice(self._scope, name, comment=comment)
        for value, target in branches.items():
            choice.when(sfn.Condition.string_equals(on, value), target)
        field = on.removeprefix("$.")
        return choice.otherwise(
            sfn.Fail(
                self._scope,
                otherwise,
                error=otherwise,
                cause=f"{field} is none of {', '.join(branches)}",
            )
        )

    def while_present(
        self, name: str, *, path: str, comment: str, loop: sfn.IChainable, done: sfn.IChainable
    ) -> sfn.Choice:
        """Go to ``loop`` while ``path`` holds a value (not absent, not null), else to ``done``."""
        present = sfn.Condition.and_(
            sfn.Condition.is_present(path), sfn.Condition.is_not_null(path)
        )
        return sfn.Choice(self._scope, name, comment=comment).when(present, loop).otherwise(done)

    def fail_with_job_message(self, name: str) -> sfn.Fail:
        """End with error ``name`` and the Genesys job's own message as the cause."""
        return sfn.Fail(self._scope, name, error=name, cause_path="$.job.message")
