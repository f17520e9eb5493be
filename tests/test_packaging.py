"""A plain (non-editable) install of the core and both plugins works on its own:
the migrations ship inside the package and the plugins are found by entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_non_editable_install(tmp_path: Path, base_env):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         ".", "./plugins/twitter", "./plugins/linkedin"],
        cwd=ROOT, check=True, capture_output=True, timeout=300,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(base_env)
    env["PYTHONPATH"] = str(target)  # ahead of the editable install in this venv
    probe = subprocess.run(
        [sys.executable, "-c",
         "import gateway, gateway_twitter, gateway_linkedin, worker, scheduler; from gateway import db;"
         "print(gateway.__file__); print(gateway_twitter.__file__); print(db.migration_files())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=True,
    )
    lines = probe.stdout.splitlines()
    assert lines[0].startswith(str(target)) and lines[1].startswith(str(target))
    shipped = sorted(p.name for p in (ROOT / "gateway" / "migrations" / "models").glob("[0-9]*_*.py"))
    assert lines[2] == repr(shipped)
    for args, expected in ((["plugins"], "twitter"), (["migrate"], "schema is current")):
        done = subprocess.run([sys.executable, "-m", "gateway", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout
