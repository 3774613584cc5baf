"""Malformed network and shipment files never raise anything but a clean InputError."""

from __future__ import annotations

import string
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from twin.domain.problems import InputError
from twin.files.networks import load_network
from twin.files.shipments import load_shipments

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["port", "sea", "A", "B", "SUEZ", "-1", "nan", "inf"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
field_names = st.sampled_from(
    [
        "id",
        "kind",
        "lat",
        "lon",
        "capacity",
        "from",
        "to",
        "mode",
        "transit_days",
        "cost_per_unit",
        "via",
        "tier",
        "country",
        "units",
        "origin",
        "destination",
        "ready_at",
        "due_at",
        "split",
    ]
)
entries = st.one_of(values, st.dictionaries(field_names, values, max_size=8))
documents = st.one_of(
    values,
    st.fixed_dictionaries(
        {
            "name": values,
            "nodes": st.one_of(values, st.lists(entries, max_size=5)),
            "lanes": st.one_of(values, st.lists(entries, max_size=5)),
        }
    ),
)


def _expect_clean(call, path: Path) -> None:
    try:
        call(path)
    except InputError as exc:
        assert exc.problems, "an InputError must name at least one problem"
        for problem in exc.problems:
            assert problem.file.startswith(str(path))
            assert problem.message


@given(documents)
def test_structured_garbage_network(tmp_path_factory, document) -> None:
    path = tmp_path_factory.mktemp("g") / "net.yaml"
    path.write_text(yaml.safe_dump(document))
    _expect_clean(load_network, path)


@given(st.binary(max_size=300))
def test_binary_garbage_network(tmp_path_factory, data: bytes) -> None:
    path = tmp_path_factory.mktemp("g") / "net.yaml"
    path.write_bytes(data)
    _expect_clean(load_network, path)


@given(st.text(alphabet=string.printable + "{}[]:-,'\"&*!|>%@`", max_size=300))
def test_text_garbage_network(tmp_path_factory, text: str) -> None:
    path = tmp_path_factory.mktemp("g") / "net.yaml"
    path.write_text(text)
    _expect_clean(load_network, path)


@given(st.text(alphabet=string.printable + "\x00\u00e9", max_size=400))
def test_csv_garbage_network_folder(tmp_path_factory, text: str) -> None:
    folder = tmp_path_factory.mktemp("g")
    (folder / "nodes.csv").write_text("id,kind,lat,lon\n" + text)
    (folder / "lanes.csv").write_text(text)
    _expect_clean(load_network, folder)


@given(st.lists(entries, max_size=5))
def test_garbage_shipments_yaml(tmp_path_factory, rows) -> None:
    path = tmp_path_factory.mktemp("g") / "s.yaml"
    path.write_text(yaml.safe_dump(rows))
    _expect_clean(load_shipments, path)


@given(st.text(alphabet=string.printable, max_size=400))
def test_garbage_shipments_csv(tmp_path_factory, text: str) -> None:
    path = tmp_path_factory.mktemp("g") / "s.csv"
    path.write_text("id,origin,destination,units,ready_at,due_at\n" + text)
    _expect_clean(load_shipments, path)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nnodes:\n  - {id: A, kind: port\n")
    try:
        load_network(path)
    except InputError as exc:
        assert exc.problems[0].where.startswith("line ")
    else:
        raise AssertionError("a broken YAML file must not load")


def test_yaml_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi")
    )
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb)
    _expect_clean(load_network, path)


BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi")
)


def _loaders():
    from twin.files.playbooks import load_playbooks
    from twin.files.scenarios import read_scenario_document

    return {
        "network.yaml": load_network,
        "shipments.yaml": load_shipments,
        "playbook.yaml": load_playbooks,
        "scenario.yaml": read_scenario_document,
    }


def test_yaml_alias_bomb_is_refused_by_every_loader_before_it_expands(tmp_path: Path) -> None:
    import time

    for name, load in _loaders().items():
        path = tmp_path / name
        path.write_text(BOMB)
        started = time.perf_counter()
        try:
            load(path)
        except InputError as exc:
            assert "once its aliases are expanded" in str(exc), name
        else:
            raise AssertionError(f"{name}: an alias bomb must be refused")
        assert time.perf_counter() - started < 1.0, name


def test_self_referring_alias_and_deep_yaml_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a [1, *a]\n")
    try:
        load_network(path)
    except InputError as exc:
        assert "contains it" in str(exc) or "not valid YAML" in str(exc)
    else:
        raise AssertionError("a self-referring alias must be refused")
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: " + "[" * 40 + "]" * 40 + "\n")
    try:
        load_network(deep)
    except InputError as exc:
        assert "nested deeper than 32 levels" in str(exc)
    else:
        raise AssertionError("YAML nested 40 deep must be refused")


def test_deep_toml_is_an_input_error_not_a_recursion_error(tmp_path: Path) -> None:
    from twin.files.config import load_config

    for depth in (40, 100_000):
        path = tmp_path / "twin.toml"
        path.write_text("a = " + "[" * depth + "]" * depth + "\n")
        try:
            load_config(path)
        except InputError as exc:
            assert "nested" in str(exc)
        else:
            raise AssertionError("deeply nested TOML must be refused")


def test_oversized_input_files_are_refused_without_reading(tmp_path: Path) -> None:
    from twin.domain.settings import LimitSettings
    from twin.files.limits import current_limits, use_limits

    saved = current_limits()
    use_limits(LimitSettings(file_mb=0.001))
    try:
        path = tmp_path / "network.yaml"
        path.write_text("name: x\n" + "# padding\n" * 200)
        try:
            load_network(path)
        except InputError as exc:
            assert "larger than 0.001 MiB" in str(exc)
        else:
            raise AssertionError("a file over [limits] file_mb must be refused")
    finally:
        use_limits(saved)


def test_limits_from_twin_toml_apply_to_later_files(tmp_path: Path) -> None:
    from twin.files.config import load_config
    from twin.files.limits import current_limits, use_limits

    saved = current_limits()
    config = tmp_path / "twin.toml"
    config.write_text("[limits]\nyaml_nodes = 50\n")
    try:
        use_limits(load_config(config).limits)  # as the daemon's open_service does
        path = tmp_path / "network.yaml"
        path.write_text("name: x\nnodes: [" + ", ".join(["1"] * 60) + "]\n")
        try:
            load_network(path)
        except InputError as exc:
            assert "more than 50 values" in str(exc)
        else:
            raise AssertionError("[limits] yaml_nodes must apply")
    finally:
        use_limits(saved)


# --- every file-reading command, fuzzed: exit 0 or 2, never a traceback ------------------------

from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

CLI_FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
PLAYBOOK_KEYS = [
    "id",
    "match",
    "actions",
    "approval",
    "shadow",
    "severity",
    "target",
    "avoid",
    "notify",
    "replan",
    "cooldown",
    "channel",
    "dimension",
    "min_severity",
]
SCENARIO_KEYS = [
    "name",
    "network",
    "start",
    "end",
    "seed",
    "signals",
    "effects",
    "shipments",
    "ts",
    "target",
    "metric",
    "value",
    "source",
    "dimension",
    "kind",
    "at",
]
FACILITY_KEYS = ["id", "kind", "lat", "lon", "country", "tier", "passage", "geocodes", "lookup"]
TOML_KEYS = [
    "database_url",
    "network",
    "playbooks",
    "shadow",
    "every",
    "name",
    "path",
    "url",
    "format",
    "lease_seconds",
    "port",
    "host",
    "csv_mb",
    "depth",
    "rows_per_file",
]
TOML_TABLES = [
    "",
    "[monitor]",
    "[[feeds]]",
    "[replan]",
    "[serve]",
    "[leader]",
    "[limits]",
    "[[notify.channels]]",
    "[scoring]",
    "[alerts]",
    "[nope]",
]
toml_values = st.one_of(
    st.integers(-5, 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(
        [
            '"30s"',
            '"demo"',
            '"feeds/*"',
            '"http://x"',
            "true",
            '"cap"',
            "[1, 2]",
            "{a = 1}",
            '"sqlite:///x.db"',
            '"5x"',
            "-1",
            "0",
        ]
    ),
    st.text(alphabet=string.ascii_letters + ' "[]{}=.,', max_size=12),
)
toml_docs = st.lists(
    st.tuples(st.sampled_from(TOML_TABLES), st.sampled_from(TOML_KEYS), toml_values), max_size=8
).map(lambda items: "\n".join(f"{t}\n{k} = {v}" for t, k, v in items) + "\n")


def _docs(keys: list[str]) -> st.SearchStrategy[str]:
    entry = st.dictionaries(st.sampled_from(keys), values, max_size=6)
    structured = st.one_of(
        values,
        st.lists(entry, max_size=4),
        st.dictionaries(
            st.sampled_from(keys), st.one_of(values, st.lists(entry, max_size=3)), max_size=6
        ),
    ).map(lambda doc: yaml.safe_dump(doc, allow_unicode=True))
    raw = st.text(alphabet=string.printable + "{}[]:-,'\"&*!|>%@`\x00é", max_size=200)
    return st.one_of(structured, raw)


def _run_cli(*args: str) -> None:
    from twin.cli.app import app

    result = CliRunner().invoke(app, list(args), env={"TWIN_DEBUG": ""})
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code in (0, 2), (args, result.exit_code, output[-800:])
    assert "Traceback" not in output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception


@CLI_FUZZ
@given(_docs(FACILITY_KEYS + ["name", "facilities", "links", "from", "to", "mode", "via"]))
def test_cli_network_validate_and_build_take_any_text(tmp_path_factory, text: str) -> None:
    folder = tmp_path_factory.mktemp("net")
    path = folder / "net.yaml"
    path.write_text(text, encoding="utf-8")
    _run_cli("network", "validate", str(path))
    _run_cli("network", "build", str(path), "-o", str(folder / "out.yaml"))


@CLI_FUZZ
@given(_docs(["id", "origin", "destination", "units", "ready_at", "due_at", "priority"]))
def test_cli_shipments_validate_takes_any_text(tmp_path_factory, text: str) -> None:
    folder = tmp_path_factory.mktemp("ship")
    for name in ("s.yaml", "s.csv"):
        (folder / name).write_text(text, encoding="utf-8")
        _run_cli("shipments", "validate", str(folder / name))


@CLI_FUZZ
@given(_docs(PLAYBOOK_KEYS))
def test_cli_playbooks_validate_takes_any_text(tmp_path_factory, text: str) -> None:
    folder = tmp_path_factory.mktemp("pb")
    (folder / "p.yaml").write_text(text, encoding="utf-8")
    _run_cli("playbooks", "validate", str(folder))


@CLI_FUZZ
@given(_docs(SCENARIO_KEYS))
def test_cli_scenarios_validate_takes_any_text(tmp_path_factory, text: str) -> None:
    folder = tmp_path_factory.mktemp("sc")
    (folder / "s.yaml").write_text(text, encoding="utf-8")
    _run_cli("scenarios", "validate", str(folder / "s.yaml"))


@CLI_FUZZ
@given(st.one_of(toml_docs, st.text(alphabet=string.printable + "\x00é", max_size=200)))
def test_cli_config_check_takes_any_text(tmp_path_factory, text: str) -> None:
    folder = tmp_path_factory.mktemp("cfg")
    (folder / "twin.toml").write_text(text, encoding="utf-8")
    _run_cli("config", "check", str(folder / "twin.toml"))
