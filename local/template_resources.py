"""Provision, from the synthesized CloudFormation template, what a pipeline execution touches.

The local run must execute what `cdk deploy` would create, not a copy of it: bucket versioning, the
Glue table, the crawler, the workgroup, every Lambda's handler and environment and the state
machine's definition are all read from `cdk.out/<stack>.template.json`, and so are the IAM roles
with their policies (enforced: `local/iam_enforcement.py`). CloudFormation intrinsics are resolved
against the names moto hands out; resources the execution never touches (keys, log groups, alarms)
get stable placeholder identifiers.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"
PARTITION = "aws"
# IAM's longest role name.
ROLE_NAME_LIMIT = 64
# What Lambda gives a function whose template sets no MemorySize.
LAMBDA_DEFAULT_MEMORY_MB = 128

Json = Any


class TemplateError(RuntimeError):
    """The template does not hold what the local run needs."""


@dataclass
class LambdaSpec:
    logical_id: str
    name: str
    handler: str
    runtime: str
    timeout: int
    environment: dict[str, str]
    memory_mb: int = LAMBDA_DEFAULT_MEMORY_MB
    role_arn: str | None = None  # the function's own role, as the template names it


@dataclass
class ProvisionedPipeline:
    """What the local run provisioned, by the names the template's resources resolved to."""

    source_bucket: str
    results_bucket: str | None
    database: str
    table: str
    crawler: str | None
    workgroup: str | None
    secret_id: str
    state_machine_arn: str
    state_machine_role_arn: str
    lambdas: dict[str, LambdaSpec] = field(default_factory=dict)
    named_queries: dict[str, str] = field(default_factory=dict)
    table_columns: list[tuple[str, str]] = field(default_factory=list)


def load_template(path: Path) -> dict[str, Json]:
    if not path.is_file():
        raise TemplateError(f"{path} does not exist: run `make synth` first")
    template: dict[str, Json] = json.loads(path.read_text(encoding="utf-8"))
    return template


def resources_of_type(template: Mapping[str, Json], resource_type: str) -> dict[str, Json]:
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == resource_type
    }


class IntrinsicResolver:
    """Resolves Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split to local values."""

    def __init__(self, template: Mapping[str, Json]) -> None:
        self._resources: Mapping[str, Json] = template.get("Resources", {})
        self.refs: dict[str, str] = {}
        self.arns: dict[str, str] = {}

    def placeholder_ref(self, logical_id: str) -> str:
        return self.refs.setdefault(logical_id, f"local-{logical_id.lower()}")

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "GenesysApiUsage",
            "AWS::NoValue": "",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.refs:
            return self.refs[name]
        if name in self._resources:
            return self.placeholder_ref(name)
        raise TemplateError(f"Ref to unknown name {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn" and logical_id in self.arns:
            return self.arns[logical_id]
        resource_type = self._resources.get(logical_id, {}).get("Type", "")
        service = resource_type.split("::")[1].lower() if "::" in resource_type else "local"
        return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT_ID}:{logical_id.lower()}/{attribute}"

    def resolve(self, value: Json) -> Json:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = self._intrinsics().get(key)
            if handler is not None:
                return handler(argument)
        return {key: self.resolve(item) for key, item in value.items()}

    def _intrinsics(self) -> dict[str, Callable[[Json], Json]]:
        return {
            "Ref": self.ref,
            "Fn::GetAtt": self._fn_get_att,
            "Fn::Join": lambda arg: str(arg[0]).join(str(self.resolve(p)) for p in arg[1]),
            "Fn::Select": lambda arg: self.resolve(arg[1])[int(self.resolve(arg[0]))],
            "Fn::Split": lambda arg: str(self.resolve(arg[1])).split(arg[0]),
            "Fn::Sub": self._fn_sub,
        }

    def _fn_get_att(self, argument: Json) -> str:
        if isinstance(argument, str):
            logical_id, attribute = argument.split(".", 1)
        else:
            logical_id, attribute = argument
        return self.get_att(logical_id, attribute)

    def _fn_sub(self, argument: Json) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        resolved = {name: str(self.resolve(v)) for name, v in variables.items()}
        out, rest = [], text
        while "${" in rest:
            before, _, after = rest.partition("${")
            name, _, rest = after.partition("}")
            out.append(before)
            if name in resolved:
                out.append(resolved[name])
            elif "." in name:
                out.append(self.get_att(*name.split(".", 1)))
            else:
                out.append(self.ref(name))
        out.append(rest)
        return "".join(out)


def _placeholder_zip() -> bytes:
    # moto stores the code but never runs it: invocations are routed to the handlers in-process.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "code runs in-process from lambdas/")
    return buffer.getvalue()


def _single(template: Mapping[str, Json], resource_type: str) -> tuple[str, Json]:
    found = resources_of_type(template, resource_type)
    if len(found) != 1:
        raise TemplateError(f"expected exactly one {resource_type}, found {len(found)}")
    return next(iter(found.items()))


def _bucket_roles(template: Mapping[str, Json]) -> tuple[str, str | None]:
    """Which bucket is the source (the Lambdas' SOURCE_BUCKET) and which holds Athena results."""
    source: str | None = None
    for resource in resources_of_type(template, "AWS::Lambda::Function").values():
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        bucket_ref = variables.get("SOURCE_BUCKET")
        if isinstance(bucket_ref, dict) and "Ref" in bucket_ref:
            source = bucket_ref["Ref"]
    if source is None:
        raise TemplateError("no Lambda sets SOURCE_BUCKET to a bucket Ref")
    results: str | None = None
    for resource in resources_of_type(template, "AWS::Athena::WorkGroup").values():
        location = json.dumps(resource["Properties"])
        for logical_id in resources_of_type(template, "AWS::S3::Bucket"):
            if f'"{logical_id}"' in location and logical_id != source:
                results = logical_id
    return source, results


def _create_buckets(
    template: Mapping[str, Json], resolver: IntrinsicResolver, s3: Any
) -> tuple[str, str | None]:
    source_id, results_id = _bucket_roles(template)
    for logical_id, resource in resources_of_type(template, "AWS::S3::Bucket").items():
        if logical_id not in {source_id, results_id}:
            continue  # the access-log bucket is written by S3 itself, never by the pipeline
        name = f"local-{logical_id.lower()[:40]}"
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        if resource["Properties"].get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        resolver.refs[logical_id] = name
        resolver.arns[logical_id] = f"arn:{PARTITION}:s3:::{name}"
    return source_id, results_id


def _create_roles(template: Mapping[str, Json], resolver: IntrinsicResolver, iam: Any) -> None:
    """Every role with its trust policy, so a ``Ref``/``GetAtt`` of it resolves; no policies yet."""
    for logical_id, role in resources_of_type(template, "AWS::IAM::Role").items():
        properties = role["Properties"]
        if properties.get("ManagedPolicyArns"):
            raise TemplateError(
                f"role {logical_id} attaches managed policies, which moto does not hold: "
                "the local run cannot evaluate them"
            )
        name = f"local-{logical_id.lower()}"[:ROLE_NAME_LIMIT]
        trust = resolver.resolve(properties["AssumeRolePolicyDocument"])
        arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
        resolver.refs[logical_id] = name
        resolver.arns[logical_id] = arn


def _put_role_policies(template: Mapping[str, Json], resolver: IntrinsicResolver, iam: Any) -> None:
    """Each policy on the roles it names, statements as synthesized; after everything they name."""
    policies = [
        (resolver.refs[logical_id], policy)
        for logical_id, role in resources_of_type(template, "AWS::IAM::Role").items()
        for policy in role["Properties"].get("Policies", [])
    ]
    policies += [
        (str(resolver.resolve(role)), policy["Properties"])
        for policy in resources_of_type(template, "AWS::IAM::Policy").values()
        for role in policy["Properties"].get("Roles", [])
    ]
    for role_name, policy in policies:
        iam.put_role_policy(
            RoleName=role_name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=json.dumps(resolver.resolve(policy["PolicyDocument"])),
        )


def _create_secret(
    template: Mapping[str, Json],
    resolver: IntrinsicResolver,
    secretsmanager: Any,
    secret_value: Mapping[str, str],
) -> str:
    logical_id, resource = _single(template, "AWS::SecretsManager::Secret")
    name = resource["Properties"].get("Name") or f"local/{logical_id}"
    arn: str = secretsmanager.create_secret(
        Name=resolver.resolve(name), SecretString=json.dumps(dict(secret_value))
    )["ARN"]
    resolver.refs[logical_id] = arn
    resolver.arns[logical_id] = arn
    return arn


def _create_catalog(
    template: Mapping[str, Json], resolver: IntrinsicResolver, glue: Any
) -> tuple[str, str, list[tuple[str, str]], str | None]:
    database_id, database = _single(template, "AWS::Glue::Database")
    database_input = resolver.resolve(database["Properties"]["DatabaseInput"])
    glue.create_database(DatabaseInput=database_input)
    resolver.refs[database_id] = database_input["Name"]

    table_id, table = _single(template, "AWS::Glue::Table")
    table_input = resolver.resolve(table["Properties"]["TableInput"])
    glue.create_table(DatabaseName=database_input["Name"], TableInput=table_input)
    resolver.refs[table_id] = table_input["Name"]
    columns = [
        (column["Name"], column["Type"])
        for column in table_input["StorageDescriptor"]["Columns"]
        + table_input.get("PartitionKeys", [])
    ]

    crawler_name: str | None = None
    for logical_id, crawler in resources_of_type(template, "AWS::Glue::Crawler").items():
        properties = resolver.resolve(crawler["Properties"])
        crawler_name = properties.get("Name") or f"local-{logical_id.lower()}"
        targets = properties.get("Targets", {})
        glue.create_crawler(
            Name=crawler_name,
            Role=properties["Role"],
            DatabaseName=properties.get("DatabaseName", database_input["Name"]),
            Targets={
                "CatalogTargets": [
                    {"DatabaseName": t["DatabaseName"], "Tables": t["Tables"]}
                    for t in targets.get("CatalogTargets", [])
                ],
                "S3Targets": targets.get("S3Targets", []),
            },
        )
        resolver.refs[logical_id] = crawler_name
    return database_input["Name"], table_input["Name"], columns, crawler_name


def _create_analytics(
    template: Mapping[str, Json], resolver: IntrinsicResolver, athena: Any
) -> tuple[str | None, dict[str, str]]:
    workgroup_name: str | None = None
    for logical_id, workgroup in resources_of_type(template, "AWS::Athena::WorkGroup").items():
        properties = resolver.resolve(workgroup["Properties"])
        workgroup_name = properties["Name"]
        athena.create_work_group(Name=workgroup_name, Description=properties.get("Description", ""))
        resolver.refs[logical_id] = workgroup_name
    named_queries: dict[str, str] = {}
    for resource in resources_of_type(template, "AWS::Athena::NamedQuery").values():
        properties = resolver.resolve(resource["Properties"])
        named_queries[properties["Name"]] = properties["QueryString"]
    return workgroup_name, named_queries


def _create_functions(
    template: Mapping[str, Json], resolver: IntrinsicResolver, lambda_client: Any
) -> dict[str, LambdaSpec]:
    lambdas: dict[str, LambdaSpec] = {}
    for logical_id, function in resources_of_type(template, "AWS::Lambda::Function").items():
        properties = function["Properties"]
        handler = properties.get("Handler", "")
        if not handler.startswith("handlers."):
            continue  # CDK's own helper functions (e.g. log retention) are not part of a run
        name = f"local-{logical_id.lower()[:50]}"
        environment = {
            key: str(resolver.resolve(value))
            for key, value in properties.get("Environment", {}).get("Variables", {}).items()
        }
        memory_mb = int(properties.get("MemorySize", LAMBDA_DEFAULT_MEMORY_MB))
        role_arn = str(resolver.resolve(properties["Role"]))
        lambda_client.create_function(
            FunctionName=name,
            Runtime=properties.get("Runtime", "python3.13"),
            Role=role_arn,
            Handler=handler,
            Code={"ZipFile": _placeholder_zip()},
            Timeout=int(properties.get("Timeout", 60)),
            MemorySize=memory_mb,
            Environment={"Variables": environment},
            Architectures=properties.get("Architectures", ["arm64"]),
        )
        resolver.refs[logical_id] = name
        resolver.arns[logical_id] = f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        lambdas[handler] = LambdaSpec(
            logical_id=logical_id,
            name=name,
            handler=handler,
            runtime=properties.get("Runtime", ""),
            timeout=int(properties.get("Timeout", 60)),
            environment=environment,
            memory_mb=memory_mb,
            role_arn=role_arn,
        )
    return lambdas


def _create_state_machine(
    template: Mapping[str, Json], resolver: IntrinsicResolver, sfn: Any
) -> tuple[str, str]:
    """(the machine's ARN, its role's ARN)."""
    machine_id, machine = _single(template, "AWS::StepFunctions::StateMachine")
    definition = resolver.resolve(machine["Properties"]["DefinitionString"])
    role_arn = str(resolver.resolve(machine["Properties"]["RoleArn"]))
    arn: str = sfn.create_state_machine(
        name=f"local-{machine_id.lower()[:60]}",
        definition=definition if isinstance(definition, str) else json.dumps(definition),
        roleArn=role_arn,
        type=machine["Properties"].get("StateMachineType", "STANDARD"),
    )["stateMachineArn"]
    resolver.refs[machine_id] = arn
    return arn, role_arn


def provision(
    template: Mapping[str, Json],
    *,
    session_client: Callable[[str], Any],
    secret_value: Mapping[str, str],
) -> ProvisionedPipeline:
    """Create in moto what an execution touches, named and configured as the template says."""
    resolver = IntrinsicResolver(template)
    source_id, results_id = _create_buckets(template, resolver, session_client("s3"))
    _create_roles(template, resolver, session_client("iam"))
    secret_arn = _create_secret(template, resolver, session_client("secretsmanager"), secret_value)
    database, table, columns, crawler = _create_catalog(template, resolver, session_client("glue"))
    workgroup, named_queries = _create_analytics(template, resolver, session_client("athena"))
    # Functions after everything their environment names; the machine after the functions; the
    # roles' policies last, as they name all of these.
    lambdas = _create_functions(template, resolver, session_client("lambda"))
    state_machine_arn, state_machine_role_arn = _create_state_machine(
        template, resolver, session_client("stepfunctions")
    )
    _put_role_policies(template, resolver, session_client("iam"))
    return ProvisionedPipeline(
        source_bucket=resolver.refs[source_id],
        results_bucket=resolver.refs.get(results_id) if results_id else None,
        database=database,
        table=table,
        crawler=crawler,
        workgroup=workgroup,
        secret_id=secret_arn,
        state_machine_arn=state_machine_arn,
        state_machine_role_arn=state_machine_role_arn,
        lambdas=lambdas,
        named_queries=named_queries,
        table_columns=columns,
    )
