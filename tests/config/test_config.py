"""twin.toml (SPEC 1.6): defaults, every problem named by file, table and key, `twin config check`."""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from twin.cli.app import app
from twin.cli.config_cmd import masked
from twin.domain.problems import InputError
from twin.domain.settings import TwinConfig
from twin.files.config import (
    alert_rules,
    demo_config_path,
    load_config,
    parse_config,
    resolved,
    scoring_config,
)
from twin.scoring.config import ScoringConfig

runner = CliRunner()

FULL = """
database_url = "postgresql+psycopg://twin@db/twin"
network = "networks/asia.yaml"
shipments = "shipments.csv"
playbooks = "pb"
shadow = true

[monitor]
every = "1m"

[[feeds]]
name = "broker-drop"
path = "feeds/*.jsonl"
format = "jsonl"

[[feeds]]
name = "noaa-cap"
url = "https://alerts.example.org/cap.xml"
format = "cap"
every = "2m"
headers = {Authorization = "Bearer x"}

[scoring]
staleness = "2d"
[scoring.ramps.wind_kt]
low = 30

[alerts.default]
warn = 0.6
critical = 0.9

[replan]
every = "30m"

[[notify.channels]]
name = "oncall"
kind = "alertmanager"
url = "http://alertmanager:9093"
timeout = "10s"

[serve]
host = "0.0.0.0"
port = 9000

[leader]
lease_seconds = 30
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(InputError) as caught:
        parse_config(text, "twin.toml", environ={})
    return [str(p) for p in caught.value.problems]


def test_empty_file_is_all_defaults() -> None:
    config = parse_config("", environ={})
    assert config == TwinConfig()
    assert (config.network, config.playbooks, config.shadow, config.shipments) == (
        "demo",
        "playbooks",
        False,
        None,
    )
    assert config.monitor.every == timedelta(minutes=5) and config.replan.every == timedelta(
        minutes=15
    )
    assert (config.serve.host, config.serve.port, config.leader.lease_seconds) == (
        "127.0.0.1",
        8080,
        15,
    )
    assert config.feeds == [] and config.notify.channels == [] and config.database_url is None
    assert scoring_config(config) == ScoringConfig()


def test_full_file() -> None:
    config = parse_config(FULL, environ={})
    drop, cap = config.feeds
    assert (drop.path, drop.format, drop.every) == ("feeds/*.jsonl", "jsonl", timedelta(seconds=30))
    assert (cap.url, cap.every, cap.headers) == (
        "https://alerts.example.org/cap.xml",
        timedelta(minutes=2),
        {"Authorization": "Bearer x"},
    )
    assert config.feed("noaa-cap") == cap and config.feed("nope") is None
    channel = config.notify.channel("oncall")
    assert (
        channel is not None
        and channel.kind == "alertmanager"
        and channel.timeout == timedelta(seconds=10)
    )
    scoring = scoring_config(config)
    assert scoring.staleness == timedelta(days=2)
    assert (scoring.ramps["wind_kt"].low, scoring.ramps["wind_kt"].high) == (30, 64)  # high kept
    assert alert_rules(config).default.warn == 0.6
    assert (config.serve.port, config.leader.lease_seconds, config.shadow) == (9000, 30, True)


def test_environment_overrides_database_url() -> None:
    assert (
        parse_config(FULL, environ={"TWIN_DATABASE_URL": "sqlite://"}).database_url == "sqlite://"
    )
    assert parse_config(FULL, environ={"TWIN_DATABASE_URL": " "}).database_url.startswith(
        "postgresql"
    )


def test_demo_config_is_valid() -> None:
    config = load_config(demo_config_path())
    assert config.network == "demo" and [f.path for f in config.feeds] == ["feeds/*"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('netwrk = "demo"', "twin.toml: field 'netwrk': unknown key (did you mean 'network'?)"),
        (
            '[monitor]\nevry = "5m"',
            "twin.toml: [monitor]: field 'evry': unknown key (did you mean 'every'?)",
        ),
        (
            '[[feeds]]\nname = "a"\npath = "x"\nevery = "soon"',
            "twin.toml: [[feeds]][1]: field 'every': not a duration: 'soon' (use e.g. 30s, 5m, 6h, 2d)",
        ),
        (
            '[[feeds]]\nname = "a"\npath = "x"\n[[feeds]]\nname = "b"\nurl = "ftp://x"',
            "twin.toml: [[feeds]][2]: field 'url': must be an http:// or https:// URL: 'ftp://x'",
        ),
        (
            '[[feeds]]\nname = "a"\npath = "x"\nurl = "https://x"',
            "twin.toml: [[feeds]][1]: give either `path` (a file glob) or `url`, not both or neither",
        ),
        (
            '[[feeds]]\nname = "a"\npath = "x"\nformat = "xml"',
            "twin.toml: [[feeds]][1]: field 'format': Input should be 'auto', 'cap', 'dcsa', 'jsonl' or 'csv' (got 'xml')",
        ),
        (
            '[[feeds]]\nname = "a"\npath = "x"\n[[feeds]]\nname = "a"\npath = "y"',
            "twin.toml: feed names repeat: a",
        ),
        (
            '[monitor]\nevery = "0s"',
            "twin.toml: [monitor]: field 'every': must be longer than 0: '0s'",
        ),
        (
            '[[notify.channels]]\nname = "o"\nkind = "sms"\nurl = "http://x"',
            "twin.toml: [[notify.channels]][1]: field 'kind': Input should be 'webhook', 'alertmanager', 'slack' or 'pagerduty' (got 'sms')",
        ),
        (
            "[serve]\nport = 0",
            "twin.toml: [serve]: field 'port': Input should be greater than or equal to 1 (got 0)",
        ),
        ("leader = 5", "twin.toml: [leader]: must be a table (got 5)"),
        (
            'database_url = "mysql://x/y"',
            (
                "twin.toml: field 'database_url': not a database URL twin can use: "
                "'mysql://x/y' (sqlite:///FILE or postgresql+psycopg://USER@HOST/DB)"
            ),
        ),
        (
            '[scoring]\ncombin = "max"',
            "twin.toml: [scoring]: field 'combin': unknown key (did you mean 'combine'?)",
        ),
        (
            '[scoring]\nstaleness = "soon"',
            "twin.toml: [scoring]: field 'staleness': not a duration: 'soon' (use e.g. 30s, 5m, 6h, 2d)",
        ),
        (
            '[alerts.trend]\nwindw = "1h"',
            "twin.toml: [alerts.trend]: field 'windw': unknown key (did you mean 'window'?)",
        ),
        (
            "[alerts.default]\nwarn = 0.9\ncritical = 0.5",
            "twin.toml: [alerts.default]: critical (0.5) is below warn (0.9)",
        ),
        ("a = 1\nb = = 2", "twin.toml: line 2, column 5: not valid TOML: Invalid value"),
        ("network = [", "twin.toml: not valid TOML: Invalid value (at end of document)"),
    ],
)
def test_each_problem_names_table_and_key(text: str, expected: str) -> None:
    found = _problems(text)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_at_once() -> None:
    text = (
        FULL.replace('every = "1m"', 'every = "soon"')
        .replace("port = 9000", "port = -1")
        .replace('staleness = "2d"', 'stalenes = "2d"')
        + "\ntypo = 1\n"
    )
    found = _problems(text)
    assert len(found) == 4, found


def test_check_prints_resolved_toml_that_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "twin.toml"
    path.write_text(FULL)
    result = runner.invoke(app, ["config", "check", str(path)], env={"TWIN_DATABASE_URL": ""})
    assert result.exit_code == 0, result.stderr
    text = result.stdout.split("\n", 1)[1]
    again = parse_config(text, environ={})
    # It reads back as the same configuration, its secrets masked (headers shown as ***).
    assert resolved(again) == masked(resolved(parse_config(FULL, environ={})))
    assert scoring_config(again) == scoring_config(parse_config(FULL, environ={}))
    assert alert_rules(again) == alert_rules(parse_config(FULL, environ={}))
    assert "playbooks" in result.stderr  # warning: no folder 'pb' here


def test_check_json_has_every_default(tmp_path: Path) -> None:
    path = tmp_path / "twin.toml"
    path.write_text("")
    result = runner.invoke(
        app, ["config", "check", str(path), "--json"], env={"TWIN_DATABASE_URL": ""}
    )
    doc = json.loads(result.stdout)
    assert result.exit_code == 0
    assert doc["monitor"] == {"every": "5m", "replan_budget": "1m"}
    assert doc["replan"] == {"every": "15m"}
    assert doc["serve"] == {
        "host": "127.0.0.1",
        "port": 8080,
        "external_url": None,
        "cookie_secure": None,
        "api_docs_public": False,
        "sign_in_per_minute": 10,
        "sign_in_failures": 5,
        "sign_in_window": "15m",
        "sign_in_concurrency": 2,
        "sign_in_queue": 8,
    }
    assert doc["leader"] == {"lease_seconds": 15.0}
    assert doc["scoring"]["staleness"] == "3d" and doc["alerts"]["default"]["warn"] == 0.5


def test_check_bad_file_exits_2_listing_every_error(tmp_path: Path) -> None:
    path = tmp_path / "twin.toml"
    path.write_text('netwrk = "demo"\n[monitor]\nevery = "soon"\n')
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 2
    assert (
        f"{path}: field 'netwrk'" in result.stderr
        and f"{path}: [monitor]: field 'every'" in result.stderr
    )
    assert "2 errors" in result.stderr
    missing = runner.invoke(app, ["config", "check", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_demo_toml_parses_as_plain_toml() -> None:
    data = tomllib.loads(demo_config_path().read_text())
    assert data["feeds"][0]["name"] == "drop"


def test_documented_example_is_valid() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    config = parse_config(example, "docs/configuration.md", environ={})
    assert [f.name for f in config.feeds] == ["broker-drop", "noaa-cap"]
    assert alert_rules(config).for_dimension("cost").for_passes == 4
