"""Data tier: Aurora PostgreSQL (writer + reader), its KMS key, and credentials that rotate."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IConstruct

from lib.config import PlatformConfig
from lib.log_groups import log_group
from lib.nag import acknowledge
from lib.network import DATABASE_PORT, Network

# 17.1-17.4 and 16.1-16.8 are deprecated (cfn-lint W3690); pin a supported minor.
ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_7
ROTATION_DAYS = 30
BACKUP_RETENTION_DAYS = 7
# 01:00-02:00 Singapore time, the lowest-traffic hour; maintenance after it.
BACKUP_WINDOW = "17:00-18:00"
MAINTENANCE_WINDOW = "sun:18:30-sun:19:30"
SLOW_STATEMENT_MS = 500
# Characters the generated password avoids: they break connection URIs and shells.
PASSWORD_EXCLUDED = " %+~`#$&*()|[]{}:;<>?!'/@\"\\,="  # noqa: S105 - a character set, not a password


class Database(Construct):
    """Aurora PostgreSQL cluster `aurora-<suffix>` and secret `db-credentials-<suffix>`."""

    def __init__(self, scope: Construct, construct_id: str, *, config: PlatformConfig, network: Network) -> None:
        super().__init__(scope, construct_id)
        self.cluster_identifier = config.name("aurora")
        engine = rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION)

        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{config.name('aurora')}",
            description=f"Aurora storage, Performance Insights and DB credentials ({config.environment_suffix})",
            enable_key_rotation=True,
            pending_window=Duration.days(7),
            removal_policy=RemovalPolicy.DESTROY,
        )

        self.credentials_secret = secretsmanager.Secret(
            self,
            "Credentials",
            secret_name=config.name("db-credentials"),
            description=f"Aurora master credentials of {self.cluster_identifier}, rotated every {ROTATION_DAYS} days",
            encryption_key=self.key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=f'{{"username": "{config.db_username}"}}',
                generate_string_key="password",
                exclude_characters=PASSWORD_EXCLUDED,
                password_length=32,
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )

        self.parameter_group = rds.ParameterGroup(
            self,
            "ClusterParameters",
            engine=engine,
            description=f"{self.cluster_identifier}: TLS only, slow statements logged",
            parameters={
                "rds.force_ssl": "1",
                "log_min_duration_statement": str(SLOW_STATEMENT_MS),
                "log_connections": "1",
                "log_disconnections": "1",
                "log_lock_waits": "1",
            },
        )

        # Pre-created so retention is 30 days without a LogRetention function.
        self.log_group = log_group(self, "PostgresLogs", f"/aws/rds/cluster/{self.cluster_identifier}/postgresql")

        instance_type = ec2.InstanceType(config.db_instance_class)
        zones = config.availability_zones
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            cluster_identifier=self.cluster_identifier,
            engine=engine,
            credentials=rds.Credentials.from_secret(self.credentials_secret),
            default_database_name=config.db_name,
            writer=self._instance("Writer", config.name("aurora-writer"), instance_type, zones[0]),
            # Tier 0: the reader is the first failover target.
            readers=[self._instance("Reader", config.name("aurora-reader"), instance_type, zones[1], promotion_tier=0)],
            vpc=network.vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=network.private_subnets),
            security_groups=[network.database_security_group],
            port=DATABASE_PORT,
            storage_encrypted=True,
            storage_encryption_key=self.key,
            parameter_group=self.parameter_group,
            backup=rds.BackupProps(retention=Duration.days(BACKUP_RETENTION_DAYS), preferred_window=BACKUP_WINDOW),
            preferred_maintenance_window=MAINTENANCE_WINDOW,
            copy_tags_to_snapshot=True,
            cloudwatch_logs_exports=["postgresql"],
            enable_performance_insights=True,
            performance_insight_encryption_key=self.key,
            performance_insight_retention=rds.PerformanceInsightRetention.DEFAULT,
            iam_authentication=True,
            deletion_protection=False,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.cluster.node.add_dependency(self.log_group)
        # The writer and reader instances: what answers on the endpoints.
        self.instances: list[IConstruct] = [
            child for child in self.cluster.node.children if isinstance(child.node.default_child, rds.CfnDBInstance)
        ]

        # Rotation: a hosted function in the private subnets, with its own
        # security group (allowed into the database group by the network tier)
        # and HTTPS out to Secrets Manager through NAT.
        self.rotation_function_name = config.name("db-rotation")
        self.rotation_log_group = log_group(self, "RotationLogs", f"/aws/lambda/{self.rotation_function_name}")
        # Rotation is scheduled on the cluster's attached secret, so it starts only
        # once the secret holds the cluster's host and port.
        attached = self.cluster.secret
        assert attached is not None
        self.rotation = attached.add_rotation_schedule(
            "Rotation",
            automatically_after=Duration.days(ROTATION_DAYS),
            hosted_rotation=secretsmanager.HostedRotation.postgre_sql_single_user(
                function_name=self.rotation_function_name,
                vpc=network.vpc,
                vpc_subnets=ec2.SubnetSelection(subnets=network.private_subnets),
                security_groups=[network.rotation_security_group],
                exclude_characters=PASSWORD_EXCLUDED,
            ),
        )
        self.rotation.node.add_dependency(self.cluster, self.rotation_log_group)

        acknowledge(
            self.cluster,
            "AwsSolutions-RDS10",
            "Deletion protection is off by requirement: every environment, production included, must be "
            "destroyable by `cdk destroy`; automated backups (7 days) remain the recovery path.",
        )

    def _instance(
        self, construct_id: str, identifier: str, instance_type: ec2.InstanceType, zone: str, promotion_tier: int | None = None
    ) -> rds.IClusterInstance:
        return rds.ClusterInstance.provisioned(
            construct_id,
            instance_type=instance_type,
            instance_identifier=identifier,
            availability_zone=zone,
            promotion_tier=promotion_tier,
            enable_performance_insights=True,
            performance_insight_encryption_key=self.key,
            performance_insight_retention=rds.PerformanceInsightRetention.DEFAULT,
        )

    @property
    def writer_endpoint(self) -> str:
        return self.cluster.cluster_endpoint.hostname

    @property
    def reader_endpoint(self) -> str:
        return self.cluster.cluster_read_endpoint.hostname
