"""Every setting of the platform, read once and validated before anything is built.

`tap.py` turns CDK context (and a few environment variables) into a
`PlatformConfig`; `TapStack` hands each construct the values it uses. Facts
that scripts and tests share (region, names, outputs) live in `lib/contract.py`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lib.contract import (
    AVAILABILITY_ZONES,
    BLUE_GREEN_COLORS,
    BLUE_GREEN_SERVICES,
    EDGE_SECRET_VERSION_PATTERN,
    EDGE_VERSION_RULE,
    INITIAL_EDGE_VERSION,
    REGION,
    SUFFIX_RULE,
    Names,
    suffix_is_valid,
)

# Fargate CPU units and the memory sizes each allows (MiB).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")

# Media signing-key generations live at once: the current one, plus the previous one during a rotation.
MAX_MEDIA_KEY_GENERATIONS = 2

CONTAINER_INSIGHTS = ("enhanced", "enabled")  # ECS cluster setting values: enhanced, or standard ("enabled")

# Named sets of defaults, selected with `--context profile=<name>`. A profile only
# changes defaults: any setting given explicitly as context still wins, and every value
# goes through the same validation. Nothing here may weaken what the platform requires
# (three AZs, writer + reader, encryption, WAF, blue/green, alarms): only sizes and counts.
PROFILES: dict[str, dict[str, object]] = {
    "production": {},
    # Short-lived pull-request environments: one NAT gateway (one AZ's NAT serves all three),
    # burstable Aurora instances (still a writer and a reader in two AZs), the smallest Fargate
    # size for the API (still two tasks per service), standard Container Insights, and
    # CloudFront's cheapest price class.
    "lean": {
        "natGateways": 1,
        "dbInstanceClass": "t4g.medium",
        "backendCpu": 256,
        "backendMemory": 512,
        "containerInsights": "enabled",
        "priceClass": "PriceClass_100",
    },
}
DEFAULT_PROFILE = "production"
# A pull-request environment's suffix as the pipeline names it (`cdk deploy --context environmentSuffix=pr123`):
# without a `profile` context it gets the lean profile. With AWS's default quotas one region holds a single
# production-profile environment (its 3 NAT gateways take 3 of the region's 5 Elastic IPs) but four lean ones,
# so a second pull request deployed as production would fail half-way (lib/quotas.py, README "Quotas").
PULL_REQUEST_SUFFIX = re.compile(r"pr[0-9]+")
PULL_REQUEST_PROFILE = "lean"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Memory (GiB) of the Aurora instance classes this platform is sized for. Aurora
# PostgreSQL's max_connections is LEAST(DBInstanceClassMemory / 9531392, 5000);
# the connections alarm is set against it.
DB_INSTANCE_MEMORY_GIB = {
    "t4g.medium": 4,
    "t4g.large": 8,
    "r6g.large": 16,
    "r6g.xlarge": 32,
    "r6g.2xlarge": 64,
    "r6g.4xlarge": 128,
    "r7g.large": 16,
    "r7g.xlarge": 32,
    "r7g.2xlarge": 64,
    "r7g.4xlarge": 128,
}
DB_INSTANCE_CLASS_PATTERN = re.compile(r"^[a-z][a-z0-9]*\.[a-z0-9]+$")
CERTIFICATE_ARN_PATTERN = re.compile(rf"^arn:aws[a-z-]*:acm:{re.escape(REGION)}:\d{{12}}:certificate/[0-9a-f-]+$")
IMAGE_TAG_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class ConfigError(ValueError):
    """A setting has a value the platform cannot be built with."""


@dataclass(frozen=True)
class AlarmThresholds:
    """Alarm thresholds; every alarm of the observability tier reads one of these."""

    alb_5xx_rate_percent: float = 1.0
    p99_latency_seconds: float = 1.0
    service_cpu_percent: float = 85.0
    db_cpu_percent: float = 80.0
    # Fraction of the instance class's max_connections that raises the alarm.
    db_connections_fraction: float = 0.8
    api_5xx_count: int = 5
    replica_lag_seconds: float = 1.0


@dataclass(frozen=True)
class ServiceSize:
    cpu: int
    memory_mib: int


DEFAULT_BACKEND_SIZE = ServiceSize(512, 1024)
DEFAULT_FRONTEND_SIZE = ServiceSize(256, 512)


@dataclass(frozen=True)
class PlatformConfig:
    """The whole configuration of one environment of the platform."""

    environment_suffix: str
    region: str = REGION
    account: str | None = None
    availability_zones: tuple[str, ...] = AVAILABILITY_ZONES
    vpc_cidr: str = "10.20.0.0/16"
    nat_gateways: int = 3
    backend: ServiceSize = DEFAULT_BACKEND_SIZE
    frontend: ServiceSize = DEFAULT_FRONTEND_SIZE
    min_tasks: int = 2
    max_tasks: int = 10
    db_instance_class: str = "r6g.large"
    db_name: str = "catalog"
    db_username: str = "catalog_admin"
    image_tag: str | None = None
    certificate_arn: str | None = None
    domain_name: str | None = None
    log_level: str = "INFO"
    cors_allowed_origins: tuple[str, ...] = ()
    cache_max_age_seconds: int = 30
    seed_demo_data: bool = True
    bake_time_minutes: int = 5
    backend_request_scaling: bool = False
    backend_requests_per_target: int = 1000
    price_class: str = "PriceClass_200"
    container_insights: str = "enhanced"
    profile: str = DEFAULT_PROFILE
    api_throttle_rate: int = 5000
    api_throttle_burst: int = 2000
    partner_quota_per_day: int = 100_000
    per_ip_limit_per_minute: int = 1000
    alarm_email: str | None = None
    # Edge-secret version every reference is pinned to (None: the initial one),
    # and, while a rotation switches over, the version still accepted as well.
    edge_secret_version: str | None = None
    edge_secret_previous_version: str | None = None
    alarms: AlarmThresholds = field(default_factory=AlarmThresholds)
    project: str = "media-streaming"
    # Media signing-key generations whose public keys are in the key group; the API
    # signs with the last one. Two only while a rotation is under way.
    media_key_generations: tuple[int, ...] = (1,)
    # The target group each service's production rule serves now (ECS moves it at every
    # blue/green release); a deploy that states it keeps the live weights (aws/aws-cdk#36649).
    blue_green_live: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        validate(self)

    @property
    def edge_secret_versions(self) -> tuple[str | None, ...]:
        """Versions the receivers (ALB rules, WAF) accept: the pinned one, plus the previous during a switch.

        None is the initial version, referenced without a version (AWSCURRENT).
        """
        previous = self.edge_secret_previous_version
        if previous is None:
            return (self.edge_secret_version,)
        return (None if previous == INITIAL_EDGE_VERSION else previous, self.edge_secret_version)

    @property
    def names(self) -> Names:
        """The environment's resource names, `<resource-type>-<suffix>` (lib/contract.py)."""
        return Names(self.environment_suffix)

    @property
    def db_max_connections(self) -> int:
        """Aurora PostgreSQL's default max_connections for the configured instance class."""
        memory_bytes = DB_INSTANCE_MEMORY_GIB[self.db_instance_class] * 1024**3
        return min(memory_bytes // 9531392, 5000)

    def live_color(self, service: str) -> str:
        """The color (`blue` or `green`) that production serves for `service`; blue until a release moves it."""
        return dict(self.blue_green_live).get(service, BLUE_GREEN_COLORS[0])


def validate_suffix(suffix: str) -> None:
    if not suffix_is_valid(suffix):
        raise ConfigError(f"Invalid environmentSuffix {suffix!r}: {SUFFIX_RULE}.")


def validate(cfg: PlatformConfig) -> None:
    """Raise ConfigError, naming the setting and what is allowed, on the first bad value."""
    validate_suffix(cfg.environment_suffix)
    if cfg.region != REGION:
        raise ConfigError(f"region must be {REGION}, got {cfg.region!r}.")
    if cfg.account is not None and not re.fullmatch(r"\d{12}", cfg.account):
        raise ConfigError(f"account must be a 12-digit AWS account id, got {cfg.account!r}.")
    if len(cfg.availability_zones) != 3:
        raise ConfigError("availability_zones must name exactly 3 zones.")
    if cfg.nat_gateways not in (1, 3):
        raise ConfigError(f"natGateways must be 3 (one per AZ, production) or 1 (cheap environments), got {cfg.nat_gateways}.")
    for label, size in (("backend", cfg.backend), ("frontend", cfg.frontend)):
        allowed = FARGATE_SIZES.get(size.cpu)
        if allowed is None:
            raise ConfigError(f"{label}Cpu must be one of {sorted(FARGATE_SIZES)} (Fargate CPU units), got {size.cpu}.")
        if size.memory_mib not in allowed:
            raise ConfigError(
                f"{label}Memory {size.memory_mib} MiB is not a Fargate size for {size.cpu} CPU units; "
                f"allowed: {allowed[0]}-{allowed[-1]} MiB in steps of {allowed[1] - allowed[0]}."
            )
    if not 1 <= cfg.min_tasks <= cfg.max_tasks <= 100:
        raise ConfigError(
            f"minTasks/maxTasks must satisfy 1 <= minTasks <= maxTasks <= 100, got {cfg.min_tasks}/{cfg.max_tasks}."
        )
    if not DB_INSTANCE_CLASS_PATTERN.match(cfg.db_instance_class):
        raise ConfigError(f"dbInstanceClass must look like 'r6g.large' (no 'db.' prefix), got {cfg.db_instance_class!r}.")
    if cfg.db_instance_class not in DB_INSTANCE_MEMORY_GIB:
        raise ConfigError(f"dbInstanceClass must be one of {sorted(DB_INSTANCE_MEMORY_GIB)}, got {cfg.db_instance_class!r}.")
    if cfg.db_username in ("postgres", "admin", "rdsadmin"):
        raise ConfigError(f"dbUsername must not be a reserved or well-known name, got {cfg.db_username!r}.")
    if cfg.image_tag is not None and not IMAGE_TAG_PATTERN.match(cfg.image_tag):
        raise ConfigError(f"imageTag must be a valid image tag ([A-Za-z0-9_.-], max 128), got {cfg.image_tag!r}.")
    if cfg.certificate_arn is not None and not CERTIFICATE_ARN_PATTERN.match(cfg.certificate_arn):
        raise ConfigError(f"certificateArn must be an ACM certificate ARN in {REGION}, got {cfg.certificate_arn!r}.")
    if (cfg.certificate_arn is None) != (cfg.domain_name is None):
        raise ConfigError(
            "certificateArn and domainName go together: the certificate must cover domainName, "
            "the DNS name (pointing at the ALB) that CloudFront and API Gateway use to reach the origin over HTTPS."
        )
    if cfg.domain_name is not None and not re.fullmatch(r"(?=.{4,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}", cfg.domain_name):
        raise ConfigError(f"domainName must be a lowercase DNS name like origin.example.com, got {cfg.domain_name!r}.")
    if cfg.log_level not in LOG_LEVELS:
        raise ConfigError(f"logLevel must be one of {LOG_LEVELS}, got {cfg.log_level!r}.")
    for origin in cfg.cors_allowed_origins:
        if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d+)?", origin):
            raise ConfigError(f"corsAllowedOrigins entries must be origins like https://example.com, got {origin!r}.")
    if not 0 <= cfg.cache_max_age_seconds <= 3600:
        raise ConfigError(f"cacheMaxAge must be 0-3600 seconds, got {cfg.cache_max_age_seconds}.")
    if not 1 <= cfg.bake_time_minutes <= 1440:
        raise ConfigError(f"bakeTimeMinutes must be 1-1440, got {cfg.bake_time_minutes}.")
    if cfg.container_insights not in CONTAINER_INSIGHTS:
        raise ConfigError(
            f"containerInsights must be one of {CONTAINER_INSIGHTS} ('enabled' is standard), got {cfg.container_insights!r}."
        )
    if cfg.profile not in PROFILES:
        raise ConfigError(f"profile must be one of {tuple(PROFILES)}, got {cfg.profile!r}.")
    if cfg.price_class not in PRICE_CLASSES:
        raise ConfigError(f"priceClass must be one of {PRICE_CLASSES}, got {cfg.price_class!r}.")
    gens = cfg.media_key_generations
    if not 1 <= len(gens) <= MAX_MEDIA_KEY_GENERATIONS or any(g < 1 for g in gens) or list(gens) != sorted(set(gens)):
        raise ConfigError(
            f"mediaKeyGenerations must be 1 or 2 ascending positive integers (e.g. '1', or '1,2' while rotating "
            f"from generation 1 to 2), got {','.join(map(str, gens)) or 'nothing'}."
        )
    if cfg.per_ip_limit_per_minute < 10:
        raise ConfigError(f"perIpLimit must be at least 10 (the WAF minimum), got {cfg.per_ip_limit_per_minute}.")
    if cfg.api_throttle_rate < 1 or cfg.api_throttle_burst < 1 or cfg.partner_quota_per_day < 1:
        raise ConfigError("apiThrottleRate, apiThrottleBurst and partnerQuotaPerDay must be positive.")
    if cfg.alarm_email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", cfg.alarm_email):
        raise ConfigError(f"alarmEmail must be an e-mail address, got {cfg.alarm_email!r}.")
    validate_edge_secret_versions(cfg.edge_secret_version, cfg.edge_secret_previous_version)
    services = [service for service, _ in cfg.blue_green_live]
    if len(services) != len(set(services)) or any(
        service not in BLUE_GREEN_SERVICES or color not in BLUE_GREEN_COLORS for service, color in cfg.blue_green_live
    ):
        raise ConfigError(
            f"blueGreenLive must list <service>=<color> pairs, services {BLUE_GREEN_SERVICES} at most once each, "
            f"colors {BLUE_GREEN_COLORS} (e.g. 'frontend=green,backend=blue'), got {cfg.blue_green_live!r}."
        )


def validate_edge_secret_versions(version: str | None, previous: str | None) -> None:
    """The pinned edge-secret version and, during a switch, the previous one still accepted."""
    if version is not None and not EDGE_SECRET_VERSION_PATTERN.match(version):
        raise ConfigError(f"edgeSecretVersion must be {EDGE_VERSION_RULE}; got {version!r}.")
    if previous is None:
        return
    if version is None:
        raise ConfigError(
            "edgeSecretPreviousVersion is only used while switching to a new edgeSecretVersion; "
            "set edgeSecretVersion to the new version as well."
        )
    if previous != INITIAL_EDGE_VERSION and not EDGE_SECRET_VERSION_PATTERN.match(previous):
        raise ConfigError(
            f"edgeSecretPreviousVersion must be {INITIAL_EDGE_VERSION!r} (the version the stack created) "
            f"or {EDGE_VERSION_RULE}; got {previous!r}."
        )
    if previous == version:
        raise ConfigError(f"edgeSecretPreviousVersion must differ from edgeSecretVersion, both are {version!r}.")


# --- reading raw values (CDK context values arrive as strings from the CLI) ---


def _as_int(key: str, value: Any) -> int:
    if isinstance(value, bool):
        raise ConfigError(f"{key} must be an integer, got {value!r}.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be an integer, got {value!r}.") from None


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConfigError(f"{key} must be true or false, got {value!r}.")


def _as_list(_key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


def _as_int_list(key: str, value: Any) -> tuple[int, ...]:
    return tuple(_as_int(key, part) for part in _as_list(key, value))


def _as_pairs(key: str, value: Any) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in _as_list(key, value):
        name, sep, color = part.partition("=")
        if not sep:
            raise ConfigError(f"{key} must list <service>=<color> pairs (e.g. 'frontend=green,backend=blue'), got {part!r}.")
        pairs.append((name.strip(), color.strip()))
    return tuple(pairs)


def _as_optional_str(_key: str, value: Any) -> str | None:
    text = str(value).strip()
    return text or None


def _as_str(_key: str, value: Any) -> str:
    return str(value).strip()


def _as_edge_secret_version(key: str, value: Any) -> str | None:
    """`initial` (what the stack reports before any rotation) is the default: no pinned version."""
    text = _as_optional_str(key, value)
    return None if text == INITIAL_EDGE_VERSION else text


# context key -> (dataclass field, parser)
CONTEXT_KEYS: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "account": ("account", _as_optional_str),
    "natGateways": ("nat_gateways", _as_int),
    "minTasks": ("min_tasks", _as_int),
    "maxTasks": ("max_tasks", _as_int),
    "dbInstanceClass": ("db_instance_class", _as_str),
    "imageTag": ("image_tag", _as_optional_str),
    "certificateArn": ("certificate_arn", _as_optional_str),
    "domainName": ("domain_name", _as_optional_str),
    "logLevel": ("log_level", _as_str),
    "corsAllowedOrigins": ("cors_allowed_origins", _as_list),
    "cacheMaxAge": ("cache_max_age_seconds", _as_int),
    "seedDemoData": ("seed_demo_data", _as_bool),
    "bakeTimeMinutes": ("bake_time_minutes", _as_int),
    "backendRequestScaling": ("backend_request_scaling", _as_bool),
    "backendRequestsPerTarget": ("backend_requests_per_target", _as_int),
    "priceClass": ("price_class", _as_str),
    "mediaKeyGenerations": ("media_key_generations", _as_int_list),
    "containerInsights": ("container_insights", _as_str),
    "apiThrottleRate": ("api_throttle_rate", _as_int),
    "apiThrottleBurst": ("api_throttle_burst", _as_int),
    "partnerQuotaPerDay": ("partner_quota_per_day", _as_int),
    "perIpLimit": ("per_ip_limit_per_minute", _as_int),
    "alarmEmail": ("alarm_email", _as_optional_str),
    "edgeSecretVersion": ("edge_secret_version", _as_edge_secret_version),
    "edgeSecretPreviousVersion": ("edge_secret_previous_version", _as_optional_str),
    "blueGreenLive": ("blue_green_live", _as_pairs),
}


def default_profile(suffix: str) -> str:
    """The profile of an environment whose context names none: lean for a pull-request suffix, else production."""
    return PULL_REQUEST_PROFILE if PULL_REQUEST_SUFFIX.fullmatch(suffix) else DEFAULT_PROFILE


def from_context(get: Callable[[str], Any], env: Mapping[str, str]) -> PlatformConfig:
    """Build the config from a context getter (`node.try_get_context`) and the environment.

    The suffix comes from context `environmentSuffix`, else the environment
    variable `ENVIRONMENT_SUFFIX`, else `dev`. The profile comes from context
    `profile`, else `default_profile(suffix)`.
    """
    suffix = get("environmentSuffix") or env.get("ENVIRONMENT_SUFFIX") or "dev"
    validate_suffix(str(suffix))
    profile = str(get("profile") or default_profile(str(suffix))).strip()
    if profile not in PROFILES:
        raise ConfigError(f"profile must be one of {tuple(PROFILES)}, got {profile!r}.")
    defaults = PROFILES[profile]

    def value(key: str) -> Any:
        """Explicit context first, then the profile's default, else None (the dataclass default)."""
        raw = get(key)
        return defaults.get(key) if raw is None else raw

    kwargs: dict[str, Any] = {"environment_suffix": str(suffix), "profile": profile}
    for key, (attr, parse) in CONTEXT_KEYS.items():
        raw = value(key)
        if raw is not None:
            kwargs[attr] = parse(key, raw)
    for attr, default in (("backend", DEFAULT_BACKEND_SIZE), ("frontend", DEFAULT_FRONTEND_SIZE)):
        cpu, memory = value(f"{attr}Cpu"), value(f"{attr}Memory")
        kwargs[attr] = ServiceSize(
            default.cpu if cpu is None else _as_int(f"{attr}Cpu", cpu),
            default.memory_mib if memory is None else _as_int(f"{attr}Memory", memory),
        )
    return PlatformConfig(**kwargs)
