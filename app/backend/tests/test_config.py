"""Configuration: required values, validation, no default secrets."""

from __future__ import annotations

import dataclasses

import pytest

from catalog.config import Config, ConfigError

BASE = {
    "DB_WRITER_HOST": "db.internal",
    "DB_NAME": "catalog",
    "DB_SECRET_ARN": "arn:secret",
    "MEDIA_SIGNING_SECRET_ARN": "arn:media-key",
    "MEDIA_KEY_PAIR_ID": "K2JCJMDEHXQW5F",
}


@pytest.mark.parametrize("missing", ["DB_WRITER_HOST", "DB_NAME", "MEDIA_KEY_PAIR_ID"])
def test_missing_required_value_is_named(missing: str) -> None:
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError, match=f"missing required environment variable {missing}"):
        Config.from_env(env)


def test_credentials_are_required_and_never_defaulted() -> None:
    env = {k: v for k, v in BASE.items() if k != "DB_SECRET_ARN"}
    with pytest.raises(ConfigError, match="DB_SECRET_ARN"):
        Config.from_env(env)
    with pytest.raises(ConfigError, match="DB_SECRET_ARN"):
        Config.from_env({**env, "DB_USER": "app"})  # user without password
    config = Config.from_env({**env, "DB_USER": "app", "DB_PASSWORD": "pw"})
    assert "pw" not in repr(config)


def test_defaults_for_aws() -> None:
    config = Config.from_env(BASE)
    assert config.db_reader_host == "db.internal"
    assert config.db_sslmode == "require"
    assert config.db_port == 5432
    assert config.seed_demo_data is False
    assert config.proxy_fix_x_for == 1
    assert config.cors_allowed_origins == ()


def test_values_are_parsed() -> None:
    config = Config.from_env(
        {
            **BASE,
            "DB_READER_HOST": "reader.internal",
            "DB_PORT": "6432",
            "DB_SSLMODE": "verify-full",
            "DB_SSLROOTCERT": "/etc/rds/global-bundle.pem",
            "CORS_ALLOWED_ORIGINS": "https://a.example, https://b.example/",
            "CACHE_MAX_AGE": "15",
            "SEED_DEMO_DATA": "TRUE",
            "LOG_LEVEL": "debug",
            "PROXY_FIX_X_FOR": "3",
        }
    )
    assert config.db_reader_host == "reader.internal"
    assert config.db_port == 6432
    assert config.db_sslmode == "verify-full"
    assert config.cors_allowed_origins == ("https://a.example", "https://b.example")
    assert config.cache_max_age == 15
    assert config.seed_demo_data is True
    assert config.log_level == "DEBUG"
    assert config.proxy_fix_x_for == 3


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("DB_PORT", "five", "DB_PORT must be an integer"),
        ("DB_SSLMODE", "sometimes", "DB_SSLMODE must be one of"),
        ("SEED_DEMO_DATA", "maybe", "SEED_DEMO_DATA must be true or false"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of"),
        ("CACHE_MAX_AGE", "-1", "CACHE_MAX_AGE must not be negative"),
        ("DB_POOL_MIN_SIZE", "20", "DB_POOL_MIN_SIZE"),
    ],
)
def test_invalid_values_fail_with_a_message(key: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env({**BASE, key: value})


def test_config_is_frozen() -> None:
    config = Config.from_env(BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.db_name = "other"  # type: ignore[misc]
