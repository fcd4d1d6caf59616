"""Data tier: Aurora PostgreSQL (writer + reader), its KMS key, and RDS-managed credentials that rotate."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IConstruct

from lib.contract import Names
from lib.log_groups import log_group
from lib.nag import acknowledge
from lib.network import DATABASE_PORT

# 17.1-17.4 and 16.1-16.8 are deprecated (cfn-lint W3690); pin a supported minor.
ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_7
BACKUP_RETENTION_DAYS = 7
# 01:00-02:00 Singapore time, the lowest-traffic hour; maintenance after it.
BACKUP_WINDOW = "17:00-18:00"
MAINTENANCE_WINDOW = "sun:18:30-sun:19:30"
SLOW_STATEMENT_MS = 500


class Database(Construct):
    """Aurora PostgreSQL cluster `aurora-<suffix>`; RDS manages and rotates its master-user secret."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        instance_class: str,
        database_name: str,
        username: str,
        availability_zones: Sequence[str],
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        security_group: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.cluster_identifier = names("aurora")
        # Writer first, then the reader (its first failover target), each in its own AZ.
        self.instance_identifiers = (names("aurora-writer"), names("aurora-reader"))
        engine = rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION)

        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/{self.cluster_identifier}",
            description=f"Aurora storage, Performance Insights and DB credentials ({names.suffix})",
            enable_key_rotation=True,
            pending_window=Duration.days(7),
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

        instance_type = ec2.InstanceType(instance_class)
        writer, reader = self.instance_identifiers
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            cluster_identifier=self.cluster_identifier,
            engine=engine,
            # RDS creates the master password in Secrets Manager (encrypted with this
            # key) and rotates it itself: no rotation function, so no Lambda runtime
            # that reaches end of life (the hosted rotation template ships Python 3.10).
            credentials=rds.Credentials.from_username(username, encryption_key=self.key),
            manage_master_user_password=True,
            default_database_name=database_name,
            writer=self._instance("Writer", writer, instance_type, availability_zones[0]),
            # Tier 0: the reader is the first failover target.
            readers=[self._instance("Reader", reader, instance_type, availability_zones[1], promotion_tier=0)],
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=list(subnets)),
            security_groups=[security_group],
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

        # The RDS-managed secret ({"username", "password"}), rotated by RDS every 7 days.
        secret = self.cluster.secret
        assert secret is not None
        self.credentials_secret: secretsmanager.ISecret = secret

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

    def grant_credentials_read(self, grantee: iam.IGrantable) -> None:
        """Let `grantee` read the master-user secret (the app re-reads it after each rotation) and decrypt it."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadDatabaseCredentials",
                actions=["secretsmanager:GetSecretValue"],
                resources=[self.credentials_secret.secret_arn],
            )
        )
        self.key.grant_decrypt(grantee)

    @property
    def writer_endpoint(self) -> str:
        return self.cluster.cluster_endpoint.hostname

    @property
    def reader_endpoint(self) -> str:
        return self.cluster.cluster_read_endpoint.hostname
