"""Alarm notifications reach their topics: CloudWatch may publish to, and use the key of, every topic an alarm targets."""

from __future__ import annotations

from typing import Any

from tests.unit.support import Synthesized

ALARM_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
ACTION_PROPERTIES = ("AlarmActions", "OKActions", "InsufficientDataActions")
CLOUDWATCH = {"Service": "cloudwatch.amazonaws.com"}
ACCOUNT = {"Ref": "AWS::AccountId"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def alarm_topics(stack: Synthesized) -> dict[str, set[str]]:
    """Topic logical id -> the alarms that notify it, from every action of every alarm in the template."""
    topics: dict[str, set[str]] = {}
    for alarm_type in ALARM_TYPES:
        for key, alarm in stack.of_type(alarm_type).items():
            for prop in ACTION_PROPERTIES:
                for action in alarm["Properties"].get(prop, []):
                    target = action.get("Ref") if isinstance(action, dict) else None
                    if target in stack.resources and stack.resources[target]["Type"] == "AWS::SNS::Topic":
                        topics.setdefault(target, set()).add(key)
                    else:
                        # Only topics of this stack can be checked; anything else
                        # (an imported topic, an autoscaling policy) must be reviewed.
                        assert isinstance(action, dict) and "Ref" in action, f"{key} {prop}: unchecked action {action}"
                        assert stack.resources[action["Ref"]]["Type"] != "AWS::SNS::Topic"
    return topics


def _alarm_source_arn_is_this_account_and_region(value: Any, region: str) -> bool:
    """arn:<partition>:cloudwatch:<region>:<this account>:alarm:* as a Join."""
    if value is None:
        return False
    parts = value.get("Fn::Join", ["", []])[1] if isinstance(value, dict) else [value]
    text = "".join(p if isinstance(p, str) else "{" + next(iter(p.values())) + "}" for p in parts)
    return text in (
        f"arn:{{AWS::Partition}}:cloudwatch:{region}:{{AWS::AccountId}}:alarm:*",
        f"arn:aws:cloudwatch:{region}:{{AWS::AccountId}}:alarm:*",
    )


def _grants_cloudwatch(statement: dict[str, Any], actions: set[str], region: str) -> bool:
    if statement.get("Effect") != "Allow" or statement.get("Principal") != CLOUDWATCH:
        return False
    if not actions <= set(_as_list(statement["Action"])):
        return False
    condition = statement.get("Condition", {})
    return condition.get("StringEquals", {}).get("aws:SourceAccount") == ACCOUNT and _alarm_source_arn_is_this_account_and_region(
        condition.get("ArnLike", {}).get("aws:SourceArn"), region
    )


def test_alarms_notify_at_least_one_topic(stack: Synthesized) -> None:
    assert alarm_topics(stack), "no alarm has an SNS action"


def test_every_alarm_topic_lets_cloudwatch_publish_from_this_account_and_region(stack: Synthesized) -> None:
    region = stack.stack.region
    for topic, alarms in alarm_topics(stack).items():
        policies = [
            p["Properties"]
            for p in stack.of_type("AWS::SNS::TopicPolicy").values()
            if {"Ref": topic} in p["Properties"]["Topics"]
        ]
        assert len(policies) == 1, f"{topic}: expected one topic policy, found {len(policies)}"
        statements = policies[0]["PolicyDocument"]["Statement"]
        publish = [s for s in statements if _grants_cloudwatch(s, {"sns:Publish"}, region)]
        assert publish, (
            f"topic {topic} (notified by {len(alarms)} alarms) has no statement letting cloudwatch.amazonaws.com "
            "sns:Publish scoped by aws:SourceAccount and aws:SourceArn: the alarms would never be delivered"
        )
        assert publish[0]["Resource"] == {"Ref": topic}
        # The TLS-only deny stays.
        assert any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        ), topic


def test_the_key_of_every_alarm_topic_lets_cloudwatch_encrypt(stack: Synthesized) -> None:
    """The key statement the SNS Developer Guide and AWS's article on alarms with encrypted topics give, without
    conditions: AWS documents no aws:Source* keys in the KMS request made for CloudWatch, and a condition the
    request does not carry would drop every notification without a deploy error."""
    encrypted = [topic for topic in alarm_topics(stack) if stack.resources[topic]["Properties"].get("KmsMasterKeyId")]
    assert encrypted, "no alarm topic is encrypted: nothing to check"
    for topic in encrypted:
        key = stack.resources[topic]["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
        statements = stack.resources[key]["Properties"]["KeyPolicy"]["Statement"]
        grants = [
            s
            for s in statements
            if s.get("Effect") == "Allow"
            and s.get("Principal") == CLOUDWATCH
            and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(_as_list(s["Action"]))
        ]
        assert grants, f"key {key} of topic {topic}: CloudWatch may not use it, so publishing to the encrypted topic fails"
        assert all("Condition" not in s for s in grants), (
            f"key {key} of topic {topic}: CloudWatch's grant has conditions AWS does not document for this request: "
            f"{[s['Condition'] for s in grants if 'Condition' in s]}"
        )
        # No other key statement lets CloudWatch in (with or without conditions).
        assert sum(s.get("Principal") == CLOUDWATCH for s in statements) == len(grants) == 1, key
