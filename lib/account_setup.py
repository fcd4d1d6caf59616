"""Settings that exist once per account and region, shared by every environment's stack.

ECS's service-linked role (`AWSServiceRoleForECS`) is one per account. ECS creates
it on an account's first `CreateCluster` and can then fail to assume it at once
("Unable to assume the service linked role"), failing that first environment's
deploy; `TapAccountSetup` creates it when missing, before any environment.

API Gateway's CloudWatch Logs role (`AWS::ApiGateway::Account`) is one value per
account and region. Managed by an environment's stack, destroying that
environment would remove the role every other environment's API logs through.
It lives here instead, in `TapAccountSetup`, deployed once per account and region
(`make account-setup`) and destroyed only when no environment remains.

Environment stacks do not manage it; they check it at deploy time
(`ApiGatewayLoggingPrecondition`) and fail with the command to run, before the
stage that needs it is created.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aws_cdk import ArnFormat, CfnElement, CfnResource, CustomResource, Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct

from lib.log_groups import function_role
from lib.nag import acknowledge

ACCOUNT_SETUP_STACK_NAME = "TapAccountSetup"
# CDK context that makes `tap.py` build the account setup instead of an environment.
ACCOUNT_SETUP_CONTEXT = "accountSetup"
ACCOUNT_SETUP_COMMAND = "make account-setup  (npx cdk deploy --context accountSetup=true)"
# WAF delivers logs only to CloudWatch Logs groups whose name starts with this.
WAF_LOG_GROUP_PREFIX = "aws-waf-logs-"
# ECS's service-linked role: its service name, and its path and name (IAM User Guide, "Using service-linked roles").
ECS_SERVICE_NAME = "ecs.amazonaws.com"
ECS_SERVICE_LINKED_ROLE = f"aws-service-role/{ECS_SERVICE_NAME}/AWSServiceRoleForECS"
# What iam:CreateServiceLinkedRole answers when the role exists ("Service role name AWSServiceRoleForECS has been
# taken in this account"): the wire code InvalidInput, InvalidInputException in the SDK the provider runs.
ROLE_EXISTS_ERROR = "^InvalidInput(Exception)?$"


class AccountSetupStack(Stack):
    """`TapAccountSetup`: API Gateway's CloudWatch Logs role, the WAF log-delivery policy and ECS's service-linked
    role, once per account/region."""

    def __init__(self, scope: Construct, construct_id: str = ACCOUNT_SETUP_STACK_NAME, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        role = iam.Role(
            self,
            "ApiGatewayCloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway pushes execution and access logs of every API in this account and region",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AmazonAPIGatewayPushToCloudWatchLogs")
            ],
        )
        acknowledge(
            role,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account-level API Gateway logging role uses the AWS policy made for it; API Gateway creates log "
            "groups of its own names for every API of the account, so a hand-written policy would need the same wildcards.",
        )
        account = apigw.CfnAccount(self, "ApiGatewayAccount", cloud_watch_role_arn=role.role_arn)
        account.node.add_dependency(role)

        # WAF log delivery into every environment's aws-waf-logs-<suffix> group. Without
        # an account-level CloudWatch Logs resource policy that allows it, AWS appends
        # each group to its own AWSLogDeliveryWrite policy (CloudWatch Logs User Guide,
        # "Logs sent to CloudWatch Logs"): left behind by cdk destroy, and limited to
        # 5,120 characters, so enough environments break WAF logging for all.
        log_delivery = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="WafLogDelivery",
                    principals=[iam.ServicePrincipal("delivery.logs.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[
                        self.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name=f"{WAF_LOG_GROUP_PREFIX}*:log-stream:*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    ],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": self.account},
                        "ArnLike": {"aws:SourceArn": self.format_arn(service="logs", resource="*")},
                    },
                )
            ]
        )
        logs.CfnResourcePolicy(
            self,
            "WafLogDeliveryPolicy",
            policy_name="tap-waf-log-delivery",
            policy_document=Stack.of(self).to_json_string(log_delivery.to_json()),
        )
        self._ecs_service_linked_role()

    def _ecs_service_linked_role(self) -> None:
        """`AWSServiceRoleForECS`, created when missing; never deleted (an account-wide role every ECS cluster
        of the account uses, including clusters of other stacks). Not an `AWS::IAM::ServiceLinkedRole`:
        that fails wherever the role already exists and would delete it with this stack."""
        role, group = function_role(
            self, "EcsServiceLinkedRoleProvider", description="Creates ECS's service-linked role when it is missing"
        )
        cr.AwsCustomResource(
            self,
            "EcsServiceLinkedRole",
            on_create=cr.AwsSdkCall(
                service="IAM",
                action="createServiceLinkedRole",
                parameters={"AWSServiceName": ECS_SERVICE_NAME},
                physical_resource_id=cr.PhysicalResourceId.of("AWSServiceRoleForECS"),
                ignore_error_codes_matching=ROLE_EXISTS_ERROR,
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        sid="CreateEcsServiceLinkedRole",
                        actions=["iam:CreateServiceLinkedRole"],
                        resources=[
                            self.format_arn(service="iam", region="", resource="role", resource_name=ECS_SERVICE_LINKED_ROLE)
                        ],
                        conditions={"StringLike": {"iam:AWSServiceName": ECS_SERVICE_NAME}},
                    )
                ]
            ),
            role=role,
            log_group=group,
            install_latest_aws_sdk=False,
        )


# Runs at deploy time in an environment's stack: succeeds when the account has an
# API Gateway CloudWatch role, fails the deploy with the fix otherwise.
_PRECONDITION_CODE = f'''
import boto3
import cfnresponse

MESSAGE = (
    "API Gateway has no CloudWatch Logs role in this account and region, so the API stage "
    "(access and execution logging) cannot be created. Run once per account and region: "
    "{ACCOUNT_SETUP_COMMAND}"
)


def handler(event, context):
    if event["RequestType"] == "Delete":
        cfnresponse.send(event, context, cfnresponse.SUCCESS, {{}}, "api-gateway-logging-precondition")
        return
    try:
        role = boto3.client("apigateway").get_account().get("cloudwatchRoleArn")
    except Exception as error:
        cfnresponse.send(event, context, cfnresponse.FAILED, {{}}, "api-gateway-logging-precondition",
                         reason=f"apigateway:GetAccount failed: {{error}}")
        return
    status = cfnresponse.SUCCESS if role else cfnresponse.FAILED
    cfnresponse.send(event, context, status, {{"CloudWatchRoleArn": role or ""}}, "api-gateway-logging-precondition",
                     reason=None if role else MESSAGE)
'''


class ApiGatewayLoggingPrecondition(Construct):
    """Fails the deploy, with the command that fixes it, when the account has no API Gateway logging role.

    Whatever must not be created before the check (the API stage) depends on `self.check`.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        role, group = function_role(self, "Role", description="Reads the API Gateway account settings at deploy time")
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadApiGatewayAccount",
                actions=["apigateway:GET"],
                resources=[f"arn:{stack.partition}:apigateway:{stack.region}::/account"],
            )
        )
        function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline(_PRECONDITION_CODE),
            timeout=Duration.seconds(30),
            role=role,
            log_group=group,
            description="Deploy-time check: API Gateway has a CloudWatch Logs role in this account and region",
        )
        self.check = CustomResource(self, "Check", service_token=function.function_arn, resource_type="Custom::ApiGatewayLogging")
        self.check.node.add_dependency(role)

    def gate(self, root: IConstruct, *, exempt: Sequence[IConstruct] = ()) -> None:
        """Everything under `root` waits for the check, except the check and what it needs (this construct) and
        `exempt` (resources that are created and deleted in seconds and must keep their CloudFormation unchanged).

        Without the account setup the deploy then fails within a minute, before anything else exists,
        instead of rolling back a half-created environment (the Aurora cluster, the NAT gateway and the
        distribution take many minutes to delete, and a bucket being filled while the rollback runs can
        leave the stack in ROLLBACK_FAILED). Costs a first deploy the check's own half minute; an update
        that leaves the check unchanged does not run it.
        """
        # By path: jsii may hand out another Python object for the same construct (`node.default_child`).
        kept = {k.node.path for k in (self, *exempt)}
        for child in root.node.children:
            path = child.node.path
            if path in kept or (isinstance(child, CfnElement) and not isinstance(child, CfnResource)):
                continue
            if any(k.startswith(f"{path}/") for k in kept):
                self.gate(child, exempt=exempt)  # a construct holding a kept one: gate its other children
            else:
                child.node.add_dependency(self.check)
