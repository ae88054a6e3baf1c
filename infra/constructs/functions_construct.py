"""One Lambda function per ``spec.FunctionSpec``, each with its own role, log group and layers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import bundling, spec
from infra.constructs.nag import suppress
from infra.constructs.naming import construct_id

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURES = {"x86_64": lambda_.Architecture.X86_64, "arm64": lambda_.Architecture.ARM_64}


def media_tool_settings(tools: Sequence[str]) -> dict[str, str]:
    """``FFMPEG_PATH=/opt/bin/ffmpeg`` and the like: a media layer puts its tool in ``bin/``,
    and layers are mounted under ``/opt``. Only for the tools the function's layers carry."""
    return {f"{tool.upper()}_PATH": f"/opt/bin/{tool}" for tool in tools}


def wildcard_resource_reason(fn: spec.FunctionSpec) -> str:
    """Why a function role has statements on resource '*': X-Ray always, Rekognition when declared."""
    reason = (
        "Active X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no "
        "resource-level permissions, so their resource is '*'."
    )
    if any(stream.consumer == fn.name for stream in spec.TABLE_STREAMS):
        reason += (
            " dynamodb:ListStreams (a table stream consumer in infra/spec TABLE_STREAMS, granted by "
            "CDK's DynamoEventSource) supports no resource-level permission either; the stream reads "
            "themselves name the table's stream."
        )
    if fn.detects_moderation_labels:
        reason += (
            " rekognition:DetectModerationLabels (detects_moderation_labels in infra/spec) on image "
            "bytes has no resource to name either: only custom adapter versions have ARNs, and the "
            "platform uses the stock model."
        )
    return reason


class FunctionsConstruct(Construct):
    """Exposes ``by_name`` (spec name -> Function), ``urls`` (spec name -> Function URL, for the
    specs that declare ``function_url``), ``specs`` and the layers: ``deps_layer``,
    ``extra_layers`` (by pyproject extra) and ``media_layers`` (by tool).

    Roles start with nothing but their own log group and X-Ray; the stack adds the grants
    from the spec once the resources exist, and :meth:`set_environment` fills the
    environment once every resource (the state machine included) has its token.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        specs: Sequence[spec.FunctionSpec],
        architecture: str,
        requirements: Sequence[str],
        extra_requirements: Mapping[str, Sequence[str]] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, construct_id_)
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {sorted(ARCHITECTURES)}, got {architecture!r}")
        lambda_architecture = ARCHITECTURES[architecture]

        self.deps_layer = lambda_.LayerVersion(
            self,
            "DepsLayer",
            code=bundling.layer_code("deps", architecture=architecture, requirements=requirements),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_architecture],
            description="Runtime dependencies of the functions: pyproject [project].dependencies minus boto3",
        )
        # One layer per pyproject extra that some function lists in ``layers``, attached to
        # those functions only (numpy and Pillow would weigh on every other function).
        extra_requirements = extra_requirements or {}
        self.extra_layers: dict[str, lambda_.LayerVersion] = {}
        for extra in sorted({extra for fn in specs for extra in fn.layers}):
            if extra not in extra_requirements:
                users = sorted(fn.name for fn in specs if extra in fn.layers)
                raise KeyError(f"{', '.join(users)}: no requirements given for the {extra!r} layer")
            excluded = bundling.LAYER_EXCLUDES.get(extra, ())
            self.extra_layers[extra] = lambda_.LayerVersion(
                self,
                f"{construct_id(extra)}Layer",
                code=bundling.layer_code(
                    "deps",
                    architecture=architecture,
                    requirements=extra_requirements[extra],
                    exclude=excluded,
                    name=extra,
                ),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[lambda_architecture],
                description=(
                    f"pyproject [project.optional-dependencies].{extra}"
                    + (f" without {', '.join(excluded)}" if excluded else "")
                ),
            )
        # One layer per media tool, only for the tools some function uses.
        self.media_layers: dict[str, lambda_.LayerVersion] = {
            tool: lambda_.LayerVersion(
                self,
                f"{construct_id(tool)}Layer",
                code=bundling.layer_code("media", architecture=architecture, tools=[tool]),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[lambda_architecture],
                description=f"Static {tool} in /opt/bin (pinned by layers/media/media.lock.json)",
            )
            for tool in sorted({tool for fn in specs for tool in fn.media_tools})
        }

        code = bundling.function_code()
        self.specs: dict[str, spec.FunctionSpec] = {fn.name: fn for fn in specs}
        self.urls: dict[str, lambda_.FunctionUrl] = {}
        self.by_name: dict[str, lambda_.Function] = {
            fn.name: self._function(fn, code, lambda_architecture, log_retention) for fn in specs
        }

    def _function(
        self,
        fn: spec.FunctionSpec,
        code: lambda_.Code,
        architecture: lambda_.Architecture,
        log_retention: logs.RetentionDays,
    ) -> lambda_.Function:
        cid = construct_id(fn.name)
        log_group = logs.LogGroup(
            self, f"{cid}Logs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
        )
        # A role of our own instead of the default one: the default attaches the managed
        # AWSLambdaBasicExecutionRole (logs:* on every log group); this one writes to its own.
        role = iam.Role(
            self,
            f"{cid}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{fn.name}: {fn.description}"[:1000],
        )
        log_group.grant_write(role)
        layers: list[lambda_.ILayerVersion] = [self.deps_layer]
        layers += [self.extra_layers[extra] for extra in fn.layers]
        layers += [self.media_layers[tool] for tool in fn.media_tools]
        function = lambda_.Function(
            self,
            cid,
            runtime=RUNTIME,
            architecture=architecture,
            handler=fn.handler,
            code=code,
            description=fn.description,
            memory_size=fn.memory_mb,
            timeout=Duration.seconds(fn.timeout_s),
            ephemeral_storage_size=Size.mebibytes(fn.ephemeral_storage_mb),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            layers=layers,
            reserved_concurrent_executions=fn.reserved_concurrency,
        )
        suppress(
            function,
            "L1",
            "Pinned to Python 3.12: the deps layer is built for cp312 wheels (pydantic-core) and the "
            "layer build image is build-python3.12; runtime, image and layer move together.",
        )
        # One acknowledgment per finding id and construct (a second one for Resource::* would be
        # dropped), so it names every '*' statement the role gets, here and from the stack.
        suppress(role, "IAM5", wildcard_resource_reason(fn), findings=["Resource::*"])
        if fn.function_url:
            # IAM-authorised: only a principal the function's resource policy names may call it,
            # which for a CloudFront origin is the distribution (origin access control, SigV4).
            self.urls[fn.name] = function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.AWS_IAM)
        return function

    def set_environment(
        self,
        resources: spec.Resources,
        settings: Mapping[str, str],
        *,
        by_flag: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        """Each function's environment, exactly as ``spec.function_environment`` declares it.

        ``by_flag`` maps a boolean FunctionSpec field (``"reads_moderation_config"``) to variables
        the stack owns, given to the functions whose spec sets that flag and to no other. The
        deployer's ``settings`` may not name them: the stack's values would silently lose.
        """
        by_flag = by_flag or {}
        for flag, flag_env in by_flag.items():
            if not isinstance(getattr(spec.FunctionSpec, flag, None), bool):
                raise AttributeError(f"FunctionSpec has no boolean flag {flag!r}")
            clash = sorted(set(flag_env) & set(settings))
            if clash:
                raise ValueError(
                    f"function_settings may not set {', '.join(clash)}: the stack sets them for the "
                    f"functions that declare {flag}"
                )
        for name, fn in self.specs.items():
            fn_settings = {**settings, **media_tool_settings(fn.media_tools)}
            for flag, flag_env in by_flag.items():
                if getattr(fn, flag):
                    fn_settings.update(flag_env)
            for key, value in spec.function_environment(fn, resources, fn_settings).items():
                self.by_name[name].add_environment(key, value)
