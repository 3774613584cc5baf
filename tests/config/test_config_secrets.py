"""`twin config check` never prints a secret: database passwords, credential headers of feeds and
notification channels, token-like query parameters are shown as ***."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CONFIG = """\
database_url = "postgresql+psycopg://twin:Sup3rSecret@db.internal:5432/twin"

[[feeds]]
name = "noaa"
url = "https://user:FeedPass@alerts.example.org/cap.xml?region=asia&api_key=K3yValue"
format = "cap"
headers = {Authorization = "Bearer s3cret-token", X-Api-Key = "AbcKey", Accept = "application/xml"}

[[notify.channels]]
name = "ops"
url = "https://hooks.example.org/twin?token=HookToken"
headers = {Authorization = "Basic dXNlcjpwYXNz"}

[serve]
external_url = "https://twin.example.org"
"""
SECRETS = ("Sup3rSecret", "FeedPass", "K3yValue", "s3cret-token", "AbcKey", "HookToken", "dXNlcjpw")


def _check(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "twin.toml").write_text(CONFIG)
    env = {k: v for k, v in os.environ.items() if k != "TWIN_DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "twin.cli.app", "config", "check", "twin.toml", *extra],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_config_check_masks_secrets_in_toml_and_json(tmp_path: Path) -> None:
    shown = _check(tmp_path)
    assert shown.returncode == 0, shown.stderr
    as_json = _check(tmp_path, "--json")
    assert as_json.returncode == 0, as_json.stderr
    for output in (shown.stdout + shown.stderr, as_json.stdout + as_json.stderr):
        leaked = [s for s in SECRETS if s in output]
        assert not leaked, f"printed {leaked}"
    doc = json.loads(as_json.stdout)
    assert doc["database_url"] == "postgresql+psycopg://twin:***@db.internal:5432/twin"
    feed = doc["feeds"][0]
    assert feed["headers"] == {
        "Authorization": "***",
        "X-Api-Key": "***",
        "Accept": "application/xml",
    }
    assert feed["url"] == "https://user:***@alerts.example.org/cap.xml?region=asia&api_key=***"
    channel = doc["notify"]["channels"][0]
    assert channel["headers"] == {"Authorization": "***"}
    assert channel["url"].endswith("?token=***")
    assert doc["serve"]["external_url"] == "https://twin.example.org"
