"""Aurora PostgreSQL: available, one writer and a reader, encrypted, rotated credentials."""

from __future__ import annotations

from typing import Any

from lib.contract import Output
from tests.integration.harness import AwsClients, CheckFailed, Outputs, aws_call, aws_collect


def describe_cluster(outputs: Outputs, aws: AwsClients) -> dict[str, Any]:
    identifier = outputs[Output.DB_CLUSTER_IDENTIFIER]
    clusters = aws_call(aws("rds"), "describe_db_clusters", DBClusterIdentifier=identifier).get("DBClusters", [])
    if len(clusters) != 1:
        raise CheckFailed(f"expected one Aurora cluster {identifier}, found {len(clusters)}")
    cluster = clusters[0]
    assert isinstance(cluster, dict), f"Aurora cluster {identifier}: expected an object, found {cluster!r}"
    return cluster


def test_aurora_available_with_writer_and_reader(outputs: Outputs, aws: AwsClients) -> None:
    cluster = describe_cluster(outputs, aws)
    identifier = cluster["DBClusterIdentifier"]
    assert cluster.get("Status") == "available", (
        f"Aurora {identifier}: expected status available, found {cluster.get('Status')!r}"
    )
    members = cluster.get("DBClusterMembers", [])
    writers = [m["DBInstanceIdentifier"] for m in members if m.get("IsClusterWriter")]
    readers = [m["DBInstanceIdentifier"] for m in members if not m.get("IsClusterWriter")]
    assert len(writers) == 1 and readers, (
        f"Aurora {identifier}: expected one writer and at least one reader, found writers {writers}, readers {readers}"
    )
    instances = aws_collect(
        aws("rds"), "describe_db_instances", "DBInstances", Filters=[{"Name": "db-cluster-id", "Values": [identifier]}]
    )
    states = {i["DBInstanceIdentifier"]: i.get("DBInstanceStatus") for i in instances}
    assert states and all(s == "available" for s in states.values()), (
        f"Aurora {identifier}: expected every instance available, found {states or 'no instances'}"
    )


def test_aurora_storage_encrypted(outputs: Outputs, aws: AwsClients) -> None:
    cluster = describe_cluster(outputs, aws)
    assert cluster.get("StorageEncrypted") is True, (
        f"Aurora {cluster['DBClusterIdentifier']}: expected StorageEncrypted true, found {cluster.get('StorageEncrypted')!r}"
    )


def test_db_secret_rotation_enabled(outputs: Outputs, aws: AwsClients) -> None:
    arn = outputs[Output.DB_SECRET_ARN]
    secret = aws_call(aws("secretsmanager"), "describe_secret", SecretId=arn)
    assert secret.get("RotationEnabled") is True, (
        f"secret {arn}: expected RotationEnabled true, found {secret.get('RotationEnabled')!r} "
        f"(rotation rules: {secret.get('RotationRules')})"
    )
