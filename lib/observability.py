"""Observability: one dashboard per environment, alarms to an encrypted SNS topic, 30-day logs everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from lib.config import AlarmThresholds
from lib.contract import Names
from lib.load_balancer import Route

PERIOD = Duration.minutes(1)
FIVE_MINUTES = Duration.minutes(5)
# CloudFront publishes its metrics in us-east-1 under Region=Global.
CLOUDFRONT_REGION = "us-east-1"


@dataclass(frozen=True)
class ServiceMetrics:
    name: str
    service: ecs.FargateService
    route: Route


@dataclass(frozen=True)
class Monitored:
    """The names and handles of everything the dashboard and the alarms watch, as the constructs expose them."""

    load_balancer_full_name: str
    cluster_name: str
    workloads: tuple[ServiceMetrics, ...]
    db_cluster_identifier: str
    db_instance_identifiers: tuple[str, ...]
    api_name: str
    api_stage: str
    web_acl_name: str
    distribution_id: str


class Observability(Construct):
    """Dashboard `dashboard-<suffix>` (a row per tier) and alarms to `alarms-<suffix>`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        watched: Monitored,
        thresholds: AlarmThresholds,
        db_max_connections: int,
        alarm_email: str | None,
    ) -> None:
        """`db_max_connections`: Aurora's max_connections for the instance class (the connections alarm's base)."""
        super().__init__(scope, construct_id)
        self.names = names
        self.watched = watched
        self.thresholds = thresholds
        self.db_max_connections = db_max_connections
        self.alarm_email = alarm_email
        self.region = Stack.of(self).region

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._topic()
        self._alarms()
        self._dashboard()

    # ------------------------------------------------------------- metrics
    def _metric(
        self, namespace: str, name: str, dimensions: dict[str, str], statistic: str, **extra: object
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=extra.pop("period", PERIOD),  # type: ignore[arg-type]
            **extra,  # type: ignore[arg-type]
        )

    def cloudfront(self, name: str, statistic: str) -> cloudwatch.Metric:
        # Built by hand: CDK's distribution metrics lack Region=Global and us-east-1 (aws/aws-cdk#19245).
        return self._metric(
            "AWS/CloudFront",
            name,
            {"DistributionId": self.watched.distribution_id, "Region": "Global"},
            statistic,
            region=CLOUDFRONT_REGION,
        )

    def api(self, name: str, statistic: str) -> cloudwatch.Metric:
        return self._metric(
            "AWS/ApiGateway", name, {"ApiName": self.watched.api_name, "Stage": self.watched.api_stage}, statistic
        )

    def waf_blocked(self) -> cloudwatch.Metric:
        return self._metric(
            "AWS/WAFV2",
            "BlockedRequests",
            {"WebACL": self.watched.web_acl_name, "Region": self.region, "Rule": "ALL"},
            "Sum",
        )

    def alb(self, name: str, statistic: str) -> cloudwatch.Metric:
        return self._metric("AWS/ApplicationELB", name, {"LoadBalancer": self.watched.load_balancer_full_name}, statistic)

    def target_group(self, route: Route, color: str, name: str, statistic: str) -> cloudwatch.Metric:
        group = route.blue if color == "blue" else route.green
        return self._metric(
            "AWS/ApplicationELB",
            name,
            {"TargetGroup": group.target_group_full_name, "LoadBalancer": self.watched.load_balancer_full_name},
            statistic,
            label=f"{route.name} {color}",
        )

    def ecs(self, workload: ServiceMetrics, name: str, statistic: str, namespace: str = "AWS/ECS") -> cloudwatch.Metric:
        return self._metric(
            namespace,
            name,
            {"ClusterName": self.watched.cluster_name, "ServiceName": workload.service.service_name},
            statistic,
            label=workload.name,
        )

    def rds(self, name: str, statistic: str) -> cloudwatch.Metric:
        return self._metric("AWS/RDS", name, {"DBClusterIdentifier": self.watched.db_cluster_identifier}, statistic)

    def error_rate(self, workload: ServiceMetrics) -> cloudwatch.MathExpression:
        """5xx / requests of the service, in percent, over both its target groups."""
        route = workload.route
        p = workload.name  # metric ids must be unique within one graph
        return cloudwatch.MathExpression(
            expression=f"100 * (FILL({p}_e1, 0) + FILL({p}_e2, 0)) / (FILL({p}_r1, 0) + FILL({p}_r2, 0))",
            using_metrics={
                f"{p}_e1": self.target_group(route, "blue", "HTTPCode_Target_5XX_Count", "Sum"),
                f"{p}_e2": self.target_group(route, "green", "HTTPCode_Target_5XX_Count", "Sum"),
                f"{p}_r1": self.target_group(route, "blue", "RequestCount", "Sum"),
                f"{p}_r2": self.target_group(route, "green", "RequestCount", "Sum"),
            },
            label=f"{workload.name} 5xx %",
            period=PERIOD,
        )

    # -------------------------------------------------------------- alarms
    def _topic(self) -> None:
        key = kms.Key(
            self,
            "AlarmsKey",
            alias=f"alias/{self.names('alarms')}",
            description="Encrypts the alarms topic",
            enable_key_rotation=True,
            pending_window=Duration.days(7),
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CloudWatch publishes alarm notifications into the encrypted topic: it needs
        # the key and, because the topic has a policy of its own (the TLS-only deny of
        # enforce_ssl), an explicit publish grant. The key statement is the one the SNS
        # Developer Guide ("Enable compatibility between event sources from AWS services
        # and encrypted topics") and AWS's knowledge-center article for alarms give,
        # without conditions: AWS documents no aws:SourceArn/aws:SourceAccount in the
        # KMS request SNS makes for CloudWatch, and a condition the request does not
        # carry drops every notification silently. The confused-deputy scoping is on
        # the publish grant (documented for alarms); this key encrypts nothing else.
        cloudwatch_alarms = self._cloudwatch_alarms_of_this_account()
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarms",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self,
            "Alarms",
            topic_name=self.names("alarms"),
            display_name=f"Media streaming alarms ({self.names.suffix})",
            master_key=key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=cloudwatch_alarms,
            )
        )
        if self.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(self.alarm_email))

    def _cloudwatch_alarms_of_this_account(self) -> dict[str, dict[str, str]]:
        """Policy conditions matching requests CloudWatch makes for an alarm of this account and region."""
        stack = Stack.of(self)
        alarms = stack.format_arn(
            service="cloudwatch", resource="alarm", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
        return {"StringEquals": {"aws:SourceAccount": stack.account}, "ArnLike": {"aws:SourceArn": alarms}}

    def alarm_name(self, name: str) -> str:
        """`alarm-<name>-<suffix>`."""
        return self.names(f"alarm-{name}")

    def _alarm(
        self,
        construct_id: str,
        *,
        name: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        periods: int = 5,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=self.alarm_name(name),
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm
        return alarm

    def _alarms(self) -> None:
        limits = self.thresholds

        self._alarm(
            "Alb5xxRate",
            name="alb-5xx-rate",
            metric=cloudwatch.MathExpression(
                expression="100 * (FILL(t5, 0) + FILL(l5, 0)) / FILL(req, 1)",
                using_metrics={
                    "t5": self.alb("HTTPCode_Target_5XX_Count", "Sum"),
                    "l5": self.alb("HTTPCode_ELB_5XX_Count", "Sum"),
                    "req": self.alb("RequestCount", "Sum"),
                },
                label="ALB 5xx %",
                period=PERIOD,
            ),
            threshold=limits.alb_5xx_rate_percent,
            description=f"More than {limits.alb_5xx_rate_percent}% of ALB responses are 5xx for 5 minutes",
        )
        self._alarm(
            "P99Latency",
            name="p99-latency",
            metric=self.alb("TargetResponseTime", "p99"),
            threshold=limits.p99_latency_seconds,
            description=f"ALB target p99 latency above {limits.p99_latency_seconds} s for 5 minutes",
        )
        for workload in self.watched.workloads:
            title = workload.name.capitalize()
            route = workload.route
            self._alarm(
                f"{title}UnhealthyHosts",
                name=f"{workload.name}-unhealthy",
                metric=cloudwatch.MathExpression(
                    expression="FILL(u1, 0) + FILL(u2, 0)",
                    using_metrics={
                        "u1": self.target_group(route, "blue", "UnHealthyHostCount", "Maximum"),
                        "u2": self.target_group(route, "green", "UnHealthyHostCount", "Maximum"),
                    },
                    label=f"{workload.name} unhealthy hosts",
                    period=PERIOD,
                ),
                threshold=0,
                periods=3,
                description=f"{workload.name}: an unhealthy target in the blue or green target group",
            )
            self._alarm(
                f"{title}Cpu",
                name=f"{workload.name}-cpu",
                metric=self.ecs(workload, "CPUUtilization", "Average"),
                threshold=limits.service_cpu_percent,
                description=f"{workload.name}: CPU above {limits.service_cpu_percent}% for 5 minutes",
            )
            error_rate = self._alarm(
                f"{title}ErrorRate",
                name=f"{workload.name}-5xx-rate",
                metric=self.error_rate(workload),
                threshold=limits.alb_5xx_rate_percent,
                periods=3,
                description=f"{workload.name}: more than {limits.alb_5xx_rate_percent}% 5xx; rolls back a deployment",
            )
            # A blue/green deployment that raises this alarm during its bake time rolls
            # back. The name is given as a literal, with an explicit dependency, so the
            # service never takes a token that could close a dependency cycle.
            workload.service.enable_deployment_alarms(
                [self.alarm_name(f"{workload.name}-5xx-rate")], behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM
            )
            workload.service.node.add_dependency(error_rate)
        self._alarm(
            "DbCpu",
            name="db-cpu",
            metric=self.rds("CPUUtilization", "Average"),
            threshold=limits.db_cpu_percent,
            description=f"Aurora CPU above {limits.db_cpu_percent}% for 5 minutes",
        )
        connections = round(self.db_max_connections * limits.db_connections_fraction)
        self._alarm(
            "DbConnections",
            name="db-connections",
            metric=self.rds("DatabaseConnections", "Maximum"),
            threshold=connections,
            description=(
                f"Aurora connections above {connections} "
                f"({limits.db_connections_fraction:.0%} of max_connections {self.db_max_connections})"
            ),
        )
        self._alarm(
            "Api5xx",
            name="api-5xx",
            metric=self.api("5XXError", "Sum"),
            threshold=limits.api_5xx_count,
            periods=1,
            description=f"API Gateway returned more than {limits.api_5xx_count} 5xx in a minute",
        )
        self._alarm(
            "ReplicaLag",
            name="db-replica-lag",
            metric=self.rds("AuroraReplicaLagMaximum", "Maximum"),
            threshold=limits.replica_lag_seconds * 1000,  # the metric is in milliseconds
            description=f"Aurora reader more than {limits.replica_lag_seconds} s behind the writer",
        )

    # ----------------------------------------------------------- dashboard
    def _dashboard(self) -> None:
        def graph(title: str, metrics: list[cloudwatch.IMetric], width: int = 6, **extra: object) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(title=title, left=metrics, width=width, height=6, **extra)  # type: ignore[arg-type]

        def header(text: str) -> cloudwatch.TextWidget:
            return cloudwatch.TextWidget(markdown=f"## {text}", width=24, height=1)

        percentiles = ("p50", "p95", "p99")
        workloads = self.watched.workloads
        colors = ("blue", "green")
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.names("dashboard"),
            default_interval=Duration.hours(3),
            widgets=[
                [header("Edge: CloudFront (us-east-1, Region=Global)")],
                [
                    graph("CloudFront requests", [self.cloudfront("Requests", "Sum")], region=CLOUDFRONT_REGION),
                    graph("Cache hit rate (%)", [self.cloudfront("CacheHitRate", "Average")], region=CLOUDFRONT_REGION),
                    graph("4xx error rate (%)", [self.cloudfront("4xxErrorRate", "Average")], region=CLOUDFRONT_REGION),
                    graph("5xx error rate (%)", [self.cloudfront("5xxErrorRate", "Average")], region=CLOUDFRONT_REGION),
                ],
                [header("API: API Gateway and WAF")],
                [
                    graph("API requests", [self.api("Count", "Sum")]),
                    graph("API 4xx / 5xx", [self.api("4XXError", "Sum"), self.api("5XXError", "Sum")]),
                    graph("API latency", [self.api("Latency", p) for p in percentiles]),
                    graph("WAF blocked requests", [self.waf_blocked()]),
                ],
                [header("Load balancer")],
                [
                    graph("ALB requests", [self.alb("RequestCount", "Sum")]),
                    graph("Target response time", [self.alb("TargetResponseTime", p) for p in percentiles]),
                    graph(
                        "Healthy hosts (blue / green)",
                        [self.target_group(w.route, c, "HealthyHostCount", "Minimum") for w in workloads for c in colors],
                    ),
                    graph(
                        "Unhealthy hosts (blue / green)",
                        [self.target_group(w.route, c, "UnHealthyHostCount", "Maximum") for w in workloads for c in colors],
                    ),
                ],
                [
                    graph(
                        "Target 5xx per target group",
                        [self.target_group(w.route, c, "HTTPCode_Target_5XX_Count", "Sum") for w in workloads for c in colors],
                        width=24,
                    )
                ],
                [header("Services: ECS Fargate")],
                [
                    graph(
                        "Running tasks",
                        [self.ecs(w, "RunningTaskCount", "Average", namespace="ECS/ContainerInsights") for w in workloads],
                    ),
                    graph("CPU utilization (%)", [self.ecs(w, "CPUUtilization", "Average") for w in workloads]),
                    graph("Memory utilization (%)", [self.ecs(w, "MemoryUtilization", "Average") for w in workloads]),
                    graph("5xx error rate per service (%)", [self.error_rate(w) for w in workloads]),
                ],
                [header("Database: Aurora PostgreSQL")],
                [
                    graph("Connections", [self.rds("DatabaseConnections", "Maximum")], width=4),
                    graph("CPU (%)", [self.rds("CPUUtilization", "Average")], width=4),
                    graph("Freeable memory", [self.rds("FreeableMemory", "Minimum")], width=4),
                    graph(
                        "Read / write / commit latency",
                        [
                            self.rds("ReadLatency", "Average"),
                            self.rds("WriteLatency", "Average"),
                            self.rds("CommitLatency", "Average"),
                        ],
                        width=4,
                    ),
                    graph(
                        "DB load (sessions)",
                        [
                            self._metric("AWS/RDS", "DBLoad", {"DBInstanceIdentifier": instance}, "Average", label=instance)
                            for instance in self.watched.db_instance_identifiers
                        ],
                        width=4,
                    ),
                    graph("Replica lag (ms)", [self.rds("AuroraReplicaLagMaximum", "Maximum")], width=4),
                ],
            ],
        )
