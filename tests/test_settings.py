"""Settings: read once from GATEWAY_* variables; a bad value names its variable."""

from __future__ import annotations

import pytest

from gateway.settings import Settings, SettingsError, generate_key_spec, parse_keys


def test_defaults_and_plugin_sections():
    settings = Settings.from_env({
        "GATEWAY_PORT": "9000",
        "GATEWAY_TWITTER_CONSUMER_KEY": "ck",
        "GATEWAY_LINKEDIN_CLIENT_ID": "cid",
        "GATEWAY_PLUGINS": "twitter, linkedin",
        "OTHER": "ignored",
    })
    assert settings.port == 9000
    assert settings.plugins == ("twitter", "linkedin")
    assert settings.section("twitter") == {"consumer_key": "ck"}
    assert settings.section("linkedin") == {"client_id": "cid"}
    # core variables never leak into a plugin section
    assert "port" not in str(settings.sections)


@pytest.mark.parametrize(
    ("env", "variable", "problem"),
    [
        ({"GATEWAY_PORT": "eighty"}, "GATEWAY_PORT", "whole number"),
        ({"GATEWAY_PORT": "70000"}, "GATEWAY_PORT", "at most"),
        ({"GATEWAY_DATABASE_URL": "mysql://x/y"}, "GATEWAY_DATABASE_URL", "postgres://"),
        ({"GATEWAY_REDIS_URL": "localhost:6379"}, "GATEWAY_REDIS_URL", "redis://"),
        ({"GATEWAY_LOG_LEVEL": "LOUD"}, "GATEWAY_LOG_LEVEL", "one of"),
        ({"GATEWAY_ENCRYPTION_KEYS": "nocolon"}, "GATEWAY_ENCRYPTION_KEYS", "ID:BASE64"),
        ({"GATEWAY_ENCRYPTION_KEYS": "k1:c2hvcnQ"}, "GATEWAY_ENCRYPTION_KEYS", "32 bytes"),
        ({"GATEWAY_ENCRYPTION_KEYS": "k1:!!!!"}, "GATEWAY_ENCRYPTION_KEYS", "base64"),
        ({"GATEWAY_JOB_TIMEOUT": "1"}, "GATEWAY_JOB_TIMEOUT", "at least"),
    ],
)
def test_malformed_values_name_the_variable(env, variable, problem):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")
    assert problem in str(caught.value)


def test_missing_required_values_say_what_to_do():
    settings = Settings.from_env({})
    with pytest.raises(SettingsError, match="GATEWAY_DATABASE_URL: not set"):
        settings.require_database()
    with pytest.raises(SettingsError, match="gateway crypto genkey"):
        settings.require_keys()


def test_key_ring_order_and_duplicates():
    first, second = generate_key_spec("new"), generate_key_spec("old")
    keys = parse_keys(f"{first},{second}")
    assert [k.key_id for k in keys] == ["new", "old"]
    with pytest.raises(SettingsError, match="appears twice"):
        parse_keys(f"{first},{first}")
