"""Playbook files: the shipped library validates, bad files are refused with every problem named."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from playbook_builders import make_alert, make_playbook

from twin.domain.problems import InputError
from twin.files.playbooks import load_playbooks
from twin.playbook import template
from twin.playbook.schema import ACTION_PARAMS, parse_playbook

LIBRARY = Path(__file__).resolve().parents[2] / "playbooks"
TWIN = [sys.executable, "-m", "twin.cli.app"]


def test_every_shipped_playbook_validates() -> None:
    playbooks = load_playbooks(LIBRARY)
    assert len(playbooks) >= 8
    # Each one says what it is for and which real event it is modelled on.
    for playbook in playbooks:
        assert playbook.modelled_on, f"{playbook.id} cites no real event"
    used = {name for p in playbooks for name, _ in p.steps()}
    assert used == set(ACTION_PARAMS), (
        f"actions no shipped playbook uses: {set(ACTION_PARAMS) - used}"
    )


def test_file_names_are_the_ids() -> None:
    for playbook in load_playbooks(LIBRARY):
        assert (LIBRARY / f"{playbook.id}.yaml").exists()


def test_spec_example_validates() -> None:
    playbook = parse_playbook(
        {
            "id": "avoid-closed-chokepoint",
            "description": "Re-route sea freight round a closed or unsafe chokepoint.",
            "match": {
                "dimension": ["security", "weather"],
                "target_kind": "chokepoint",
                "severity": "critical",
            },
            "actions": [
                {"avoid": {"target": "{{ alert.target }}", "until": "clear"}},
                {"replan": {"scope": "exposed", "max_cost_increase_pct": 40}},
                {"notify": {"channel": "oncall"}},
            ],
            "approval": "auto",
            "cooldown": "12h",
            "rollback": "on_clear",
        },
        "x.yaml",
    )
    assert [name for name, _ in playbook.steps()] == ["avoid", "replan", "notify"]
    assert playbook.max_cost_increase_pct() == 40
    assert playbook.cooldown_td.total_seconds() == 12 * 3600


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"colour": "red"}, "colour", "unknown key (known: "),
        ({"aproval": "auto"}, "aproval", "unknown key (did you mean 'approval'?)"),
        ({"match": {"dimension": "customs", "sky": 1}}, "match.sky", "unknown key"),
        ({"match": {"dimenson": "customs"}}, "match.dimenson", "did you mean 'dimension'?"),
        ({"actions": [{"avoidd": {}}]}, "actions.0", "unknown action 'avoidd' (did you mean"),
        ({"actions": [{"teleport": {}}]}, "actions.0", "unknown action 'teleport' (known: avoid"),
        ({"actions": [{"avoid": {}, "hold": {}}]}, "actions.0", "each action is one of"),
        (
            {"actions": [{"avoid": {"target": "X", "speed": 3}}]},
            "actions.0.avoid.speed",
            "unknown key",
        ),
        (
            {"actions": [{"avoid": {"target": "X", "untill": "clear"}}]},
            "actions.0.avoid.untill",
            "did you mean 'until'?",
        ),
        (
            {"actions": [{"avoid": {"target": "{{ alert.nope }}"}}]},
            "actions.0.avoid.target",
            "alert.nope",
        ),
        (
            {"actions": [{"notify": {"channel": "x", "message": "{{ config.secret }}"}}]},
            "actions.0.notify.message",
            "unknown variable 'config'",
        ),
        (
            {"actions": [{"avoid": {"target": "{{ alert.target.__class__ }}"}}]},
            "actions.0.avoid.target",
            "only {{ alert.field }}",
        ),
        (
            {"actions": [{"avoid": {"target": "{% for x in y %}"}}]},
            "actions.0.avoid.target",
            "only",
        ),
        (
            {"actions": [{"derate": {"by_pct": 140}}]},
            "actions.0.derate.by_pct",
            "less than or equal",
        ),
        (
            {"actions": [{"shift_mode": {"from": "sea", "to": "sea"}}]},
            "actions.0.shift_mode",
            "both sea",
        ),
        ({"actions": [{"hold": {"until": "soon"}}]}, "actions.0.hold.until", "not a duration"),
        ({"actions": []}, "actions", "at least 1"),
        ({"approval": "maybe"}, "approval", "auto"),
        ({"cooldown": "forever"}, "cooldown", "not a duration"),
        ({"match": {"severity": "fatal"}}, "match.severity.0", "warn"),
        ({"match": {"target_kind": "moon"}}, "match.target_kind.0", "chokepoint"),
        ({"match": {"targets": []}}, "match", "empty list"),
        ({"actions": [{"replan": {}}, {"replan": {}}]}, "", "at most one replan"),
    ],
)
def test_bad_playbook_names_the_field(change: dict[str, object], field: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        make_playbook(**change)
    found = [(p.field or "", p.message) for p in info.value.problems]
    assert any(f == field and message in m for f, m in found), found


def test_every_problem_of_every_file_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "id: a\ndescription: short\nmatch: {x: 1}\nactions: [{fly: {}}]\n"
    )
    (tmp_path / "b.yaml").write_text("id: [unclosed\n")
    (tmp_path / "c.yaml").write_text((LIBRARY / "avoid-closed-chokepoint.yaml").read_text())
    (tmp_path / "d.yml").write_text((LIBRARY / "avoid-closed-chokepoint.yaml").read_text())
    with pytest.raises(InputError) as info:
        load_playbooks(tmp_path)
    by_file = {(Path(p.file).name, p.field) for p in info.value.problems}
    assert {
        ("a.yaml", "description"),
        ("a.yaml", "match.x"),
        ("a.yaml", "actions.0"),
        ("b.yaml", None),
        ("d.yml", "id"),
    } <= by_file


def test_cli_validate_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run(
        [*TWIN, "playbooks", "validate", str(LIBRARY), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert '"valid": true' in ok.stdout
    (tmp_path / "bad.yaml").write_text(
        "id: bad\ndescription: a bad one here\nmatch: {}\nactions: [{avoid: {target: '{{ alert.secret }}'}}]\n"
    )
    bad = subprocess.run(
        [*TWIN, "playbooks", "validate", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "bad.yaml" in bad.stderr and "actions.0.avoid.target" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = subprocess.run(
        [*TWIN, "playbooks", "validate", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 2 and "no such folder" in missing.stderr


def test_render_fills_alert_fields() -> None:
    alert = make_alert(target="USLAX", dimension="customs", severity="warn", via=("A", "B"))
    text = "{{alert.target}}/{{ alert.dimension }}/{{ alert.severity }}/{{ alert.via }}"
    assert template.render(text, alert) == "USLAX/customs/warn/A,B"
    assert template.render_value({"x": ["{{ alert.id }}", 3]}, alert) == {"x": ["AL-1", 3]}


@given(st.text(max_size=40))
def test_render_never_runs_code_and_never_crashes(text: str) -> None:
    alert = make_alert()
    problems = template.check(text)
    if problems:
        with pytest.raises(template.TemplateError):
            template.render(text, alert)
    else:
        rendered = template.render(text, alert)
        # Text without placeholders comes back unchanged.
        if "{{" not in text:
            assert rendered == text


TYPO = """\
id: typo
description: Typos that would each switch this playbook off without a word.
match: {dimension: [secruity], ids: [SEUZ, SUEZ]}
actions:
  - avoid: {target: SEUZ}
  - replan: {}
  - notify: {channel: oncal}
"""


def test_names_the_world_does_not_know_are_errors_with_the_nearest_name(tmp_path: Path) -> None:
    from twin.files.networks import load_network
    from twin.files.playbooks import read_playbooks

    (tmp_path / "typo.yaml").write_text(TYPO)
    network, _ = load_network("demo")
    ids = set(network.node_by_id) | set(network.lane_by_id)
    with pytest.raises(InputError) as info:
        read_playbooks(tmp_path, ids=ids, channels=["oncall", "planning"])
    assert [(p.field, p.message) for p in info.value.problems] == [
        ("match.dimension", "unknown dimension 'secruity' (did you mean 'security'?)"),
        ("match.targets", "'SEUZ' is not in the network (did you mean 'SUEZ'?)"),
        ("actions.0.avoid.target", "'SEUZ' is not in the network (did you mean 'SUEZ'?)"),
        ("actions.2.notify.channel", "unknown channel 'oncal' (did you mean 'oncall'?)"),
    ]
    # Without channels configured at all the channel is a warning (nothing pages), not an error.
    (tmp_path / "typo.yaml").write_text(
        TYPO.replace("secruity", "security").replace("SEUZ", "SUEZ")
    )
    playbooks, warnings = read_playbooks(tmp_path, ids=ids, channels=[])
    assert [p.id for p in playbooks] == ["typo"]
    assert [(w.field, w.severity) for w in warnings] == [("actions.2.notify.channel", "warning")]


def test_validate_cli_checks_against_the_config_and_prints_json_failures(tmp_path: Path) -> None:
    (tmp_path / "typo.yaml").write_text(TYPO)
    (tmp_path / "twin.toml").write_text(
        '[[notify.channels]]\nname = "oncall"\nurl = "http://127.0.0.1:9/hook"\n'
    )
    done = subprocess.run(
        [*TWIN, "playbooks", "validate", str(tmp_path), "--config", str(tmp_path / "twin.toml")]
        + ["--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    doc = json.loads(done.stdout)
    assert doc["ok"] is False
    assert [p["field"] for p in doc["problems"]] == [
        "match.dimension",
        "match.targets",
        "actions.0.avoid.target",
        "actions.2.notify.channel",
    ]
    assert "did you mean 'security'?" in done.stderr
