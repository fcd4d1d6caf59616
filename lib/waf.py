"""The regional WAF web ACL on the API stage: managed rules and a per-client-IP rate limit."""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from lib.account_setup import WAF_LOG_GROUP_PREFIX
from lib.contract import API_KEY_HEADER, ORIGIN_VERIFY_HEADER, VIEWER_IP_HEADER, Names
from lib.log_groups import log_group

RATE_WINDOW_SECONDS = 60
RATE_LIMITED_BODY_KEY = "rate-limited"
RATE_LIMITED_BODY = json.dumps(
    {"error": {"code": "rate_limited", "message": "Too many requests from this address; retry in a minute."}}
)


class ApiWebAcl:
    """Web ACL `waf-api-<suffix>` on one API stage, its association and its logging.

    Direct callers are limited per source IP; requests that carry the origin-verify secret come
    from CloudFront (whose addresses many viewers share) and are limited per viewer IP instead.
    The resources are created directly under `scope`, where their logical ids have always been.
    """

    def __init__(
        self,
        scope: Construct,
        *,
        names: Names,
        stage_arn: str,
        accepted_verify_values: Sequence[str],
        per_ip_limit_per_minute: int,
    ) -> None:
        self.name = names("waf-api")
        limit = per_ip_limit_per_minute

        def header_is(value: str) -> wafv2.CfnWebACL.StatementProperty:
            return wafv2.CfnWebACL.StatementProperty(
                byte_match_statement=wafv2.CfnWebACL.ByteMatchStatementProperty(
                    field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(single_header={"Name": ORIGIN_VERIFY_HEADER.lower()}),
                    positional_constraint="EXACTLY",
                    search_string=value,
                    text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                )
            )

        def carries_verify_secret() -> wafv2.CfnWebACL.StatementProperty:
            # During an edge-secret switch either value counts (an OrStatement needs two or more).
            if len(accepted_verify_values) == 1:
                return header_is(accepted_verify_values[0])
            return wafv2.CfnWebACL.StatementProperty(
                or_statement=wafv2.CfnWebACL.OrStatementProperty(
                    statements=[header_is(value) for value in accepted_verify_values]
                )
            )

        def block_429() -> wafv2.CfnWebACL.RuleActionProperty:
            return wafv2.CfnWebACL.RuleActionProperty(
                block=wafv2.CfnWebACL.BlockActionProperty(
                    custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                        response_code=429, custom_response_body_key=RATE_LIMITED_BODY_KEY
                    )
                )
            )

        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
            )

        def managed(priority: int, name: str) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(vendor_name="AWS", name=name)
                ),
                visibility_config=visibility(name),
            )

        def rate_limit(
            priority: int, name: str, scope_down: wafv2.CfnWebACL.StatementProperty, **key: object
        ) -> wafv2.CfnWebACL.RuleProperty:
            """Block with 429 what exceeds `limit` requests a minute per key (`key`: how requests are counted)."""
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                action=block_429(),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=limit,
                        evaluation_window_sec=RATE_WINDOW_SECONDS,
                        scope_down_statement=scope_down,
                        **key,  # type: ignore[arg-type]
                    )
                ),
                visibility_config=visibility(name),
            )

        rules = [
            managed(0, "AWSManagedRulesAmazonIpReputationList"),
            # Direct callers (partners, scripts): counted per source IP. Requests
            # that carry the origin-verify secret come from CloudFront, whose
            # addresses many viewers share, so they are excluded here.
            rate_limit(
                1,
                "per-ip-direct",
                wafv2.CfnWebACL.StatementProperty(
                    not_statement=wafv2.CfnWebACL.NotStatementProperty(statement=carries_verify_secret())
                ),
                aggregate_key_type="IP",
            ),
            # Viewers through CloudFront: counted per viewer IP, which the
            # CloudFront Function writes over anything the client sent.
            rate_limit(
                2,
                "per-ip-via-cloudfront",
                carries_verify_secret(),
                aggregate_key_type="CUSTOM_KEYS",
                custom_keys=[
                    wafv2.CfnWebACL.RateBasedStatementCustomKeyProperty(
                        header=wafv2.CfnWebACL.RateLimitHeaderProperty(
                            name=VIEWER_IP_HEADER,
                            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                        )
                    )
                ],
            ),
            managed(3, "AWSManagedRulesCommonRuleSet"),
            managed(4, "AWSManagedRulesKnownBadInputsRuleSet"),
        ]
        self.web_acl = wafv2.CfnWebACL(
            scope,
            "WebAcl",
            name=self.name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            custom_response_bodies={
                RATE_LIMITED_BODY_KEY: wafv2.CfnWebACL.CustomResponseBodyProperty(
                    content_type="APPLICATION_JSON", content=RATE_LIMITED_BODY
                )
            },
            rules=rules,
            visibility_config=visibility(self.name),
        )
        wafv2.CfnWebACLAssociation(
            scope,
            "WebAclAssociation",
            resource_arn=stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

        log_group_name = f"{WAF_LOG_GROUP_PREFIX}{names.suffix}"
        self.log_group = log_group(scope, "WafLogs", log_group_name)  # WAF requires the aws-waf-logs- prefix
        logging = wafv2.CfnLoggingConfiguration(
            scope,
            "WafLogging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[
                Stack.of(scope).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            # The shared secrets never reach the logs.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": ORIGIN_VERIFY_HEADER.lower()}),
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": API_KEY_HEADER}),
            ],
        )
        logging.node.add_dependency(self.log_group)
