"""Data tier: Aurora PostgreSQL, its key, backups, logs, parameter group, credentials and rotation."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match

from tests.unit.support import SUFFIX, Synthesized

# Logical ids of stateful resources: the one place a test names a hashed logical id. A refactor that
# changes one of these makes CloudFormation REPLACE the resource: a new VPC or an empty database, a
# repository without the images that run, or (named resources) a replacement that fails on the name.
PINNED_LOGICAL_IDS = {
    "NetworkVpc7FB7348F": "AWS::EC2::VPC",
    "DatabaseCluster5B53A178": "AWS::RDS::DBCluster",
    "DatabaseClusterWriterD43085C6": "AWS::RDS::DBInstance",
    "DatabaseClusterReader78FE9854": "AWS::RDS::DBInstance",
    "DatabaseKey5E5D9547": "AWS::KMS::Key",
    "RegistryFrontend15E2FC08": "AWS::ECR::Repository",
    "RegistryBackend8AEF4717": "AWS::ECR::Repository",
    "LoadBalancerOriginVerifyF32D9AA4": "AWS::SecretsManager::Secret",
    "ApiWebApiKeyValueBEC9C688": "AWS::SecretsManager::Secret",
    "LoadBalancerTestRouteToken5055CDB8": "AWS::SecretsManager::Secret",
    "ApiWebApiKey9A672CE5": "AWS::ApiGateway::ApiKey",
}


def cluster(stack: Synthesized) -> dict[str, Any]:
    properties = stack.one("AWS::RDS::DBCluster")[1]["Properties"]
    assert isinstance(properties, dict)
    return properties


def test_stateful_logical_ids_are_pinned(stack: Synthesized) -> None:
    for logical_id, resource_type in PINNED_LOGICAL_IDS.items():
        assert logical_id in stack.resources, f"{logical_id} ({resource_type}) would be replaced"
        assert stack.resources[logical_id]["Type"] == resource_type


def test_cluster_is_named_and_pinned_to_a_supported_engine_version(stack: Synthesized) -> None:
    props = cluster(stack)
    assert props["DBClusterIdentifier"] == f"aurora-{SUFFIX}"
    assert props["Engine"] == "aurora-postgresql"
    major, minor = (int(x) for x in props["EngineVersion"].split("."))
    # cfn-lint W3690 marks 16.1-16.8 and 17.1-17.4 deprecated.
    assert (major, minor) >= (17, 5) or (major == 16 and minor >= 9), props["EngineVersion"]


def test_one_writer_and_one_reader_in_different_azs_reader_is_failover_target(stack: Synthesized) -> None:
    instances = {k: v["Properties"] for k, v in stack.of_type("AWS::RDS::DBInstance").items()}
    assert len(instances) == 2
    writer = instances[stack.logical_id("AWS::RDS::DBInstance", DBInstanceIdentifier=f"aurora-writer-{SUFFIX}")]
    reader = instances[stack.logical_id("AWS::RDS::DBInstance", DBInstanceIdentifier=f"aurora-reader-{SUFFIX}")]
    assert writer["DBInstanceIdentifier"] == f"aurora-writer-{SUFFIX}"
    assert reader["DBInstanceIdentifier"] == f"aurora-reader-{SUFFIX}"
    assert writer["AvailabilityZone"] != reader["AvailabilityZone"]
    assert reader["PromotionTier"] == 0, "the reader must be in the top promotion tier"
    for props in instances.values():
        assert props["PubliclyAccessible"] is False
        assert props["DBClusterIdentifier"] == {"Ref": stack.one("AWS::RDS::DBCluster")[0]}


def test_instance_class_comes_from_config(stack: Synthesized, tuned: Synthesized) -> None:
    for props in stack.of_type("AWS::RDS::DBInstance").values():
        assert props["Properties"]["DBInstanceClass"] == "db.r6g.large"
    for props in tuned.of_type("AWS::RDS::DBInstance").values():
        assert props["Properties"]["DBInstanceClass"] == "db.t4g.medium"


def test_cluster_is_in_private_subnets_behind_the_database_security_group(stack: Synthesized) -> None:
    props = cluster(stack)
    database_group = stack.logical_id("AWS::EC2::SecurityGroup", GroupName=f"database-sg-{SUFFIX}")
    assert props["VpcSecurityGroupIds"] == [{"Fn::GetAtt": [database_group, "GroupId"]}]
    subnet_group = stack.one("AWS::RDS::DBSubnetGroup")[1]["Properties"]
    refs = sorted(ref["Ref"] for ref in subnet_group["SubnetIds"])
    assert len(refs) == 3 and all("privateSubnet" in ref for ref in refs)


def test_storage_encrypted_with_a_rotating_kms_key(stack: Synthesized) -> None:
    props = cluster(stack)
    assert props["StorageEncrypted"] is True
    (key, attribute) = props["KmsKeyId"]["Fn::GetAtt"]
    assert attribute == "Arn" and stack.resources[key]["Type"] == "AWS::KMS::Key"
    assert stack.resources[key]["Properties"]["EnableKeyRotation"] is True
    assert stack.resources[key]["DeletionPolicy"] == "Delete"


def test_backups_seven_days_with_a_window_and_tags_copied(stack: Synthesized) -> None:
    props = cluster(stack)
    assert props["BackupRetentionPeriod"] == 7
    assert re.fullmatch(r"\d\d:\d\d-\d\d:\d\d", props["PreferredBackupWindow"])
    assert props["CopyTagsToSnapshot"] is True


def test_cluster_can_be_destroyed(stack: Synthesized) -> None:
    resource = stack.one("AWS::RDS::DBCluster")[1]
    assert resource["Properties"]["DeletionProtection"] is False
    assert resource["DeletionPolicy"] == "Delete" and resource["UpdateReplacePolicy"] == "Delete"


def test_parameter_group_forces_tls_and_logs_slow_statements(stack: Synthesized) -> None:
    stack.template.has_resource_properties(
        "AWS::RDS::DBClusterParameterGroup",
        {
            "Family": "aurora-postgresql17",
            "Parameters": Match.object_like({"rds.force_ssl": "1", "log_min_duration_statement": "500"}),
        },
    )
    assert cluster(stack)["DBClusterParameterGroupName"] == {"Ref": stack.one("AWS::RDS::DBClusterParameterGroup")[0]}


def test_postgresql_logs_go_to_a_precreated_30_day_group_without_log_retention_lambda(stack: Synthesized) -> None:
    resource = stack.one("AWS::RDS::DBCluster")[1]
    assert resource["Properties"]["EnableCloudwatchLogsExports"] == ["postgresql"]
    groups = {
        k: v
        for k, v in stack.of_type("AWS::Logs::LogGroup").items()
        if v["Properties"].get("LogGroupName") == f"/aws/rds/cluster/aurora-{SUFFIX}/postgresql"
    }
    assert len(groups) == 1
    ((key, group),) = groups.items()
    assert group["Properties"]["RetentionInDays"] == 30
    assert key in resource["DependsOn"], "the cluster must wait for its log group"
    assert not stack.of_type("Custom::LogRetention")


def test_performance_insights_and_iam_authentication(stack: Synthesized) -> None:
    props = cluster(stack)
    assert props["PerformanceInsightsEnabled"] is True
    assert props["PerformanceInsightsKmsKeyId"] == props["KmsKeyId"], "the cluster's own key"
    assert props["EnableIAMDatabaseAuthentication"] is True


def test_rds_manages_and_rotates_the_master_password_encrypted_with_the_aurora_key(stack: Synthesized) -> None:
    props = cluster(stack)
    assert props["ManageMasterUserPassword"] is True
    assert props["MasterUserSecret"] == {"KmsKeyId": props["KmsKeyId"]}, "the cluster's own key"
    assert props["MasterUsername"] == "catalog_admin"
    # No password in the template, and no rotation function: RDS rotates the secret itself.
    assert "MasterUserPassword" not in props
    assert not stack.of_type("AWS::SecretsManager::RotationSchedule")
    assert not stack.of_type("AWS::Serverless::Application")
    assert "Transform" not in stack.json


def test_no_security_group_is_left_for_a_rotation_function(stack: Synthesized) -> None:
    def group(tier: str) -> str:
        return stack.logical_id("AWS::EC2::SecurityGroup", GroupName=f"{tier}-sg-{SUFFIX}")

    ingress = [
        v["Properties"]
        for v in stack.of_type("AWS::EC2::SecurityGroupIngress").values()
        if v["Properties"].get("GroupId") == {"Fn::GetAtt": [group("database"), "GroupId"]}
    ]
    assert len(ingress) == 1
    assert ingress[0]["SourceSecurityGroupId"] == {"Fn::GetAtt": [group("backend"), "GroupId"]}
    assert len(stack.of_type("AWS::EC2::SecurityGroup")) == 4


# A CDK logical id with its 8-hex-digit path hash, like "DatabaseCluster5B53A178".
HASHED_LOGICAL_ID = re.compile(r"[A-Z][A-Za-z0-9]*[a-z][0-9A-F]{8}")


def hashed_logical_ids(source: str) -> list[str]:
    """The string literals of a Python source that are hashed logical ids."""
    return [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and HASHED_LOGICAL_ID.fullmatch(node.value)
    ]


def test_hashed_logical_ids_appear_only_in_the_pin_table() -> None:
    # Elsewhere tests find resources by type and properties (Synthesized.logical_id) or construct path,
    # so a refactor that renames a construct fails the pin table here, and nowhere else.
    tests = Path(__file__).parent
    sample = "NetworkVpc" + "7FB7348F"  # built at run time, so this file's own scan does not see it
    assert hashed_logical_ids(f"PINNED = {{{sample!r}: 1}}") == [sample], "the scan finds a hashed id"
    found = {path.name: hashed_logical_ids(path.read_text()) for path in sorted(tests.glob("*.py"))}
    assert sorted(found.pop(Path(__file__).name)) == sorted(PINNED_LOGICAL_IDS), "only the pin table's keys"
    assert {name: ids for name, ids in found.items() if ids} == {}
