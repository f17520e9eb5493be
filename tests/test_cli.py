"""The ``gateway`` command line, run as a user runs it: a subprocess with an environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.models import ApiKey
from tests.test_crypto import scan_database_for

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def gateway(base_env, clean_db):
    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        full = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        full.update(base_env if env is None else env)
        return subprocess.run([sys.executable, "-m", "gateway", *args], env=full, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)

    return run


def one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in done.stderr


def test_workspaces_and_keys(gateway, app, database_url):
    created = gateway("workspaces", "create", "acme")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().endswith("acme")
    one_line_error(gateway("workspaces", "create", "acme"), "exists already")
    assert "acme" in gateway("workspaces", "list").stdout

    key = gateway("keys", "create", "acme", "--name", "ci")
    assert key.returncode == 0, key.stderr
    plaintext = key.stdout.strip()
    assert plaintext.startswith("gw_")
    assert "not shown again" in key.stderr
    prefix = plaintext.split("_")[1]
    listing = gateway("keys", "list", "acme").stdout
    assert prefix in listing and "ci" in listing and plaintext not in listing

    revoked = gateway("keys", "revoke", prefix)
    assert revoked.returncode == 0, revoked.stderr
    one_line_error(gateway("keys", "revoke", prefix), "no active key")
    assert "revoked" in gateway("keys", "list", "acme").stdout
    one_line_error(gateway("keys", "create", "nobody"), "no workspace")


async def test_key_plaintext_is_never_stored(gateway, app, database_url):
    gateway("workspaces", "create", "acme")
    plaintext = gateway("keys", "create", "acme").stdout.strip()
    assert await ApiKey.filter(prefix=plaintext.split("_")[1]).exists()
    secret_part = plaintext.split("_", 2)[2]
    assert await scan_database_for(database_url, secret_part) == []


def test_migrate_is_idempotent(gateway):
    done = gateway("migrate")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "schema is current"


def test_plugins_lists_platforms_and_configuration(gateway, base_env):
    env = {k: v for k, v in base_env.items() if not k.startswith("GATEWAY_TWITTER_CONSUMER")}
    done = gateway("plugins", env=env)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[1]: line for line in done.stdout.splitlines()}
    assert "configured" in lines["linkedin"] and "not configured" not in lines["linkedin"]
    assert "GATEWAY_TWITTER_CONSUMER_KEY" in lines["twitter"]


def test_doctor_says_ok_or_what_to_fix(gateway, base_env):
    configured = {**base_env, "GATEWAY_TWITTER_CONSUMER_KEY": "k", "GATEWAY_TWITTER_CONSUMER_SECRET": "s",
                  "GATEWAY_LINKEDIN_CLIENT_ID": "a", "GATEWAY_LINKEDIN_CLIENT_SECRET": "b"}
    healthy = gateway("doctor", env=configured)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "FAIL" not in healthy.stdout
    for name in ("encryption keys", "plugin twitter", "database", "migrations", "redis"):
        assert name in healthy.stdout

    without_x = {k: v for k, v in base_env.items() if not k.startswith("GATEWAY_TWITTER_CONSUMER")}
    broken = gateway("doctor", env={**without_x, "GATEWAY_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert broken.returncode == 1
    failing = [line for line in broken.stdout.splitlines() if line.startswith("FAIL")]
    assert any("redis" in line and "cannot reach" in line for line in failing)
    assert any("GATEWAY_TWITTER_CONSUMER_KEY" in line for line in failing)


@pytest.mark.parametrize("command", [["migrate"], ["serve"], ["workspaces", "list"]])
def test_unreachable_database_is_a_clear_error(gateway, base_env, command):
    env = {**base_env, "GATEWAY_DATABASE_URL": "postgres://postgres@127.0.0.1:1/nothing"}
    one_line_error(gateway(*command, env=env), "GATEWAY_DATABASE_URL", "cannot reach the database")


def test_unreachable_redis_is_a_clear_error(gateway, base_env):
    env = {**base_env, "GATEWAY_REDIS_URL": "redis://127.0.0.1:1/0"}
    one_line_error(gateway("serve", env=env), "GATEWAY_REDIS_URL", "cannot reach Redis")


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        ("GATEWAY_ENCRYPTION_KEYS", "k1:tooshort", "32 bytes"),
        ("GATEWAY_ENCRYPTION_KEYS", "", "not set"),
        ("GATEWAY_PLUGINS", "twitter,mastodon", "unknown plugin 'mastodon'"),
        ("GATEWAY_PORT", "http", "whole number"),
    ],
)
def test_bad_settings_stop_with_one_line(gateway, base_env, variable, value, needle):
    done = gateway("serve", env={**base_env, variable: value})
    one_line_error(done, variable, needle)
