"""Compute tier: the ECS cluster and the two Fargate services, with blue/green and autoscaling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Annotations, Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct, IConstruct

from lib.config import ServiceSize
from lib.contract import Names
from lib.images import Images, ReleasedImage
from lib.load_balancer import Route
from lib.log_groups import log_group
from lib.nag import acknowledge

STOP_TIMEOUT = Duration.seconds(30)
SCALE_OUT_CPU_PERCENT = 70
SCALE_IN_CPU_PERCENT = 30
# Hops that append to X-Forwarded-For on every API request: API Gateway, then the ALB.
PROXY_HOPS = 2


@dataclass(frozen=True)
class Placement:
    """Where a workload runs and takes traffic: its task size, security group, ALB route and image repository."""

    size: ServiceSize
    security_group: ec2.ISecurityGroup
    route: Route
    repository: ecr.IRepository


@dataclass(frozen=True)
class Scaling:
    """Task counts, blue/green bake time and the optional request-count scale-out of the API."""

    min_tasks: int
    max_tasks: int
    bake_time_minutes: int
    backend_request_scaling: bool
    backend_requests_per_target: int


@dataclass(frozen=True)
class Workload:
    """What differs between the two services."""

    name: str
    user: str
    health_command: list[str]
    placement: Placement


class Services(Construct):
    """Cluster `ecs-cluster-<suffix>` with services `frontend-<suffix>` and `backend-<suffix>`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        container_insights: str,
        image_tag: str | None,
        scaling: Scaling,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        frontend: Placement,
        backend: Placement,
        backend_environment: Mapping[str, str],
        backend_parameters: Mapping[str, ssm.IStringParameter],
        backend_starts_after: Sequence[IConstruct],
    ) -> None:
        """Tasks run in `subnets` of `vpc`, without public addresses.

        `backend_environment` and `backend_parameters` are the API container's whole environment:
        plain values, and SSM parameters that ECS injects at task start. `backend_starts_after`:
        what must answer before the first API task starts (the Aurora instances).
        """
        super().__init__(scope, construct_id)
        self.names = names
        self.scaling = scaling
        self.subnets = list(subnets)
        # Tasks pull their images and read their parameters through the NAT gateway: each
        # subnet's default route (and the gateway it names) must exist first.
        self.internet = [subnet.internet_connectivity_established for subnet in self.subnets]
        self.images = Images(self, "Images", names=names, image_tag=image_tag)
        self.released: dict[str, ReleasedImage] = {}

        cluster_name = names.cluster
        # Container Insights would create this group itself, kept forever and left
        # behind by cdk destroy; created first here, 30 days, destroyed with the stack.
        self.insights_log_group = log_group(self, "InsightsLogs", f"/aws/ecs/containerinsights/{cluster_name}/performance")
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name=cluster_name,
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights[container_insights.upper()],
            enable_fargate_capacity_providers=True,
        )
        self.cluster.node.add_dependency(self.insights_log_group)

        api = Workload(
            name="backend",
            user="10001",
            health_command=[
                "CMD",
                "python",
                "-c",
                "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=3)",
            ],
            placement=backend,
        )
        web = Workload(
            name="frontend",
            user="101",  # the nginx user of the unprivileged nginx image
            health_command=["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/health || exit 1"],
            placement=frontend,
        )

        backend_secrets = {env: ecs.Secret.from_ssm_parameter(param) for env, param in backend_parameters.items()}
        self.backend_service, self.backend_task = self._service(api, dict(backend_environment), backend_secrets)
        # The cluster's endpoints exist before its instances answer (about ten
        # minutes): backend tasks started earlier would fail their health checks
        # until ECS gives up.
        for dependency in backend_starts_after:
            self.backend_service.node.add_dependency(dependency)
        self.frontend_service, self.frontend_task = self._service(web, {}, {})
        acknowledge(
            self.backend_task,
            "AwsSolutions-ECS2",
            "Only non-sensitive deployment facts are inline (the secrets' ARNs, TLS mode, region, seed flag, proxy "
            "hop count, the CloudFront public key id); configuration is injected from SSM and the credentials are read by the app from "
            "Secrets Manager at runtime.",
        )

    # ------------------------------------------------------------------
    def _service(
        self,
        workload: Workload,
        environment: dict[str, str],
        secrets: dict[str, ecs.Secret],
    ) -> tuple[ecs.FargateService, ecs.FargateTaskDefinition]:
        names = self.names
        placement = workload.placement
        title = workload.name.capitalize()
        group = log_group(self, f"{title}Logs", f"/ecs/{names.service(workload.name)}")
        released = self.images.release(workload.name, placement.repository)
        self.released[workload.name] = released
        task = ecs.FargateTaskDefinition(
            self,
            f"{title}Task",
            family=names.service(workload.name),
            cpu=placement.size.cpu,
            memory_limit_mib=placement.size.memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
            volumes=[ecs.Volume(name="tmp")],
        )
        container = task.add_container(
            workload.name,
            container_name=workload.name,
            image=released.image,
            logging=ecs.LogDrivers.aws_logs(stream_prefix=workload.name, log_group=group),
            port_mappings=[ecs.PortMapping(container_port=placement.route.port, name=workload.name)],
            environment=environment,
            secrets=secrets,
            user=workload.user,
            readonly_root_filesystem=True,
            stop_timeout=STOP_TIMEOUT,
            essential=True,
            health_check=ecs.HealthCheck(
                command=workload.health_command,
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(30),
            ),
        )
        # The root filesystem is read-only; /tmp is the one writable path
        # (nginx pid and temp files, Python temporary files of the API).
        container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False)  # noqa: S108 - a task volume
        )

        service = ecs.FargateService(
            self,
            f"{title}Service",
            service_name=names.service(workload.name),
            cluster=self.cluster,
            task_definition=task,
            desired_count=self.scaling.min_tasks,
            security_groups=[placement.security_group],
            vpc_subnets=ec2.SubnetSelection(subnets=self.subnets),
            assign_public_ip=False,
            deployment_strategy=ecs.DeploymentStrategy.BLUE_GREEN,
            bake_time=Duration.minutes(self.scaling.bake_time_minutes),
            min_healthy_percent=100,
            max_healthy_percent=200,
            health_check_grace_period=Duration.seconds(60),
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
        )
        if released.copy is not None:
            # Tasks start only once their image is in the project repository.
            service.node.add_dependency(released.copy)
        # The first tasks need, at launch, the execution role's policy (the image pull, the SSM
        # parameters of `secrets`: aws/aws-cdk#18675 orders only the task role's) and a route out
        # (the private subnets' default routes to the NAT gateway); without them they fail to start
        # until IAM or the routes catch up.
        service.node.add_dependency(task.execution_role, *self.internet)
        Annotations.of(service).acknowledge_warning(
            "@aws-cdk/aws-ecs:shouldUseCircuitBreaker",
            "The circuit breaker applies to rolling deployments only; these services deploy blue/green and roll "
            "back on their 5xx-rate alarm.",
        )
        route = placement.route
        acknowledge(
            task.execution_role,  # type: ignore[arg-type]
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken has no resource-level permissions (it is account-wide by design); "
            "image layer reads are scoped to the workload's repository.",
        )
        traffic_shift_role = self._traffic_shift_role(title, route)
        service.load_balancer_target(
            container_name=workload.name,
            container_port=route.port,
            alternate_target=ecs.AlternateTarget(
                f"{title}Green",
                alternate_target_group=route.green,
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(route.production_rule),
                test_listener=ecs.ListenerRuleConfiguration.application_listener_rule(route.test_rule),
                role=traffic_shift_role,
            ),
        ).attach_to_application_target_group(route.blue)
        # The role's ARN orders the role only; ECS checks the role's permissions on the
        # listener rules at CreateService, so the service waits for its policy too
        # (a dependency on the construct covers the role and every policy under it).
        service.node.add_dependency(traffic_shift_role)

        self._autoscaling(service, workload)
        return service, task

    def _traffic_shift_role(self, title: str, route: Route) -> iam.Role:
        """The role ECS assumes to move traffic between blue and green: this route's rules and groups only.

        Replaces the AWS managed AmazonECSInfrastructureRolePolicyForLoadBalancers,
        which allows every listener, rule and target group of the account.
        """
        role = iam.Role(
            self,
            f"{title}TrafficShiftRole",
            assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
            description=f"ECS blue/green traffic shifting for {self.names.service(route.name)}",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeLoadBalancing",
                actions=[
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeRules",
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeTargetHealth",
                ],
                resources=["*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ShiftTraffic",
                actions=["elasticloadbalancing:ModifyRule"],
                resources=[route.production_rule.listener_rule_arn, route.test_rule.listener_rule_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterTasks",
                actions=["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                resources=[route.blue.target_group_arn, route.green.target_group_arn],
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "elasticloadbalancing:Describe* actions do not support resource-level permissions; every "
            "modifying action is scoped to this service's two listener rules and two target groups.",
        )
        return role

    def _autoscaling(self, service: ecs.FargateService, workload: Workload) -> None:
        settings = self.scaling
        scaling = service.auto_scale_task_count(min_capacity=settings.min_tasks, max_capacity=settings.max_tasks)
        # Out: target tracking, which never scales in (that is the step policy's job).
        scaling.scale_on_cpu_utilization(
            "CpuScaleOut",
            target_utilization_percent=SCALE_OUT_CPU_PERCENT,
            disable_scale_in=True,
            scale_out_cooldown=Duration.seconds(60),
        )
        # In: one task fewer when CPU stays under 30% for 3 minutes.
        scaling.scale_on_metric(
            "CpuScaleIn",
            metric=service.metric_cpu_utilization(period=Duration.minutes(1)),
            scaling_steps=[
                appscaling.ScalingInterval(upper=SCALE_IN_CPU_PERCENT, change=-1),
                appscaling.ScalingInterval(lower=SCALE_OUT_CPU_PERCENT, change=0),
            ],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.seconds(300),
            evaluation_periods=3,
            datapoints_to_alarm=3,
        )
        if workload.name == "backend" and settings.backend_request_scaling:
            scaling.scale_on_request_count(
                "RequestScaleOut",
                requests_per_target=settings.backend_requests_per_target,
                target_group=workload.placement.route.blue,
                disable_scale_in=True,
                scale_out_cooldown=Duration.seconds(60),
            )
