"""The tree keeps its layers (STYLE.md).

A module imports only from its own layer or below, and the pure core (L0 domain, L1 network,
shipments, scoring, alerting, playbook, optimise) never reads the clock, the environment, files,
the database or the network. `check_tree` walks every module with `ast`, resolving aliases and
relative imports, and returns each violation with its file and line; the probe tests plant one
violation at a time in a throw-away copy of the tree and check it is reported there.
"""

from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "twin"

LAYERS = {
    "domain": 0,
    "network": 1,
    "shipments": 1,
    "scoring": 1,
    "alerting": 1,
    "playbook": 1,
    "optimise": 1,
    "stock": 1,
    "stress": 1,
    "emissions": 1,
    "files": 2,
    "feeds": 2,
    "store": 2,
    "schedule": 2,
    "notify": 2,
    "engine": 3,
    "replay": 3,
    "cli": 4,
    "api": 4,
    "bench": 4,
}
PURE = 1  # layers up to this one are the pure core

# The pure core never touches the database, the scheduler, the web, the terminal, the file system
# or the network.
PURE_FORBIDDEN_MODULES = (
    "sqlmodel",
    "sqlalchemy",
    "alembic",
    "apscheduler",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "requests",
    "urllib",
    "urllib3",
    "http",
    "socket",
    "ssl",
    "smtplib",
    "sqlite3",
    "psycopg",
    "typer",
    "rich",
    "subprocess",
    "shutil",
    "tempfile",
    "glob",
    "pathlib",
    "gzip",
    "bz2",
    "lzma",
    "zipfile",
    "tarfile",
)
# Names that read the clock, the environment or files, however they are imported or aliased.
CLOCK = {
    "time.time",
    "time.time_ns",
    "time.perf_counter",
    "time.perf_counter_ns",
    "time.monotonic",
    "time.monotonic_ns",
    "time.process_time",
    "time.process_time_ns",
    "time.thread_time",
    "time.localtime",
    "time.ctime",
    "time.sleep",
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "pandas.Timestamp.now",
    "pandas.Timestamp.utcnow",
    "pandas.Timestamp.today",
}
CLOCK_BY_LITERAL = {"pandas.Timestamp", "pandas.to_datetime", "numpy.datetime64"}
CLOCK_METHODS = {"now", "utcnow", "today"}
ENVIRONMENT = {"os.environ", "os.environb", "os.getenv", "os.getenvb", "os.putenv", "os.unsetenv"}
FILES = {
    "builtins.open",
    "io.open",
    "os.open",
    "os.remove",
    "os.unlink",
    "os.listdir",
    "os.scandir",
    "pandas.read_csv",
    "pandas.read_parquet",
    "pandas.read_json",
    "pandas.read_excel",
    "numpy.load",
    "numpy.save",
    "numpy.loadtxt",
    "numpy.savetxt",
}
FILE_METHODS = {"open", "read_text", "write_text", "read_bytes", "write_bytes", "to_csv"}
REPORTED_BY_NAME = CLOCK | ENVIRONMENT | FILES
DYNAMIC_IMPORTS = {"importlib.import_module", "builtins.__import__"}


@dataclass(frozen=True, order=True)
class Violation:
    """One broken rule, where it is and what it is."""

    path: str  # relative to the folder holding the `twin` package
    line: int
    kind: str  # "layer", "forbidden", "clock", "environment", "files", "dynamic-import"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def _modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "migrations" not in p.parts)


def _package(root: Path, path: Path) -> str | None:
    rel = path.relative_to(root).parts
    return rel[0].removesuffix(".py") if len(rel) > 1 or rel[0] != "__init__.py" else None


def _module_name(root: Path, path: Path) -> list[str]:
    """The dotted name of `path` as a list, `twin` first (a package's `__init__` is the package)."""
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


class _Checker:
    """The rules for one module: imports first, then every name and call."""

    def __init__(self, root: Path, path: Path) -> None:
        self.root, self.path = root, path
        self.shown = str(path.relative_to(root.parent))
        self.package = _package(root, path)
        self.layer = LAYERS.get(self.package or "", -1)
        self.pure = 0 <= self.layer <= PURE
        self.name = _module_name(root, path)
        self.is_package = path.name == "__init__.py"
        self.aliases: dict[str, str] = {}
        self.found: list[Violation] = []

    def report(self, node: ast.AST, kind: str, message: str) -> None:
        self.found.append(Violation(self.shown, getattr(node, "lineno", 1), kind, message))

    def run(self, tree: ast.Module) -> list[Violation]:
        if self.package is not None and self.package not in LAYERS:
            self.report(tree, "layer", f"package {self.package} has no layer in LAYERS")
        # Imports first (wherever they are), so that every name resolves through them.
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                self.read_import(node)
            elif isinstance(node, ast.ImportFrom):
                self.read_import_from(node)
        self.learn_assignments(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Name | ast.Attribute):
                self.check_reference(node)
            elif isinstance(node, ast.Call):
                self.check_call(node)
        return sorted(set(self.found))

    # -- imports ---------------------------------------------------------------------------------

    def absolute(self, module: str | None, level: int) -> str | None:
        """The absolute module a (possibly relative) `from ... import` names."""
        if level == 0:
            return module
        base = self.name if self.is_package else self.name[:-1]
        if level - 1 >= len(base):
            return None
        base = base[: len(base) - (level - 1)]
        return ".".join(base + ([module] if module else []))

    def check_import(self, node: ast.AST, name: str, how: str) -> bool:
        """Report `name` if this module may not import it; whether it was reported."""
        before = len(self.found)
        parts = name.split(".")
        if parts[0] == self.root.name and len(parts) > 1:
            other = parts[1]
            if other not in LAYERS:
                if (self.root / other).is_dir():
                    self.report(node, "layer", f"{how} {name}, which has no layer in LAYERS")
            elif self.layer >= 0 and LAYERS[other] > self.layer:
                message = f"{self.package} (L{self.layer}) {how} {name} (L{LAYERS[other]})"
                self.report(node, "layer", message)
            elif self.layer == 2 and LAYERS[other] == 2 and other not in (self.package, "files"):
                # Adapters do not touch each other; reading plain files is the shared ground.
                self.report(node, "layer", f"adapter {self.package} {how} adapter {name}")
        if self.pure and parts[0] in PURE_FORBIDDEN_MODULES:
            self.report(node, "forbidden", f"pure module {how} {name}")
        return len(self.found) > before

    def read_import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_import(node, alias.name, "imports")
            top = alias.name.split(".")[0]
            self.aliases[alias.asname or top] = alias.name if alias.asname else top

    def read_import_from(self, node: ast.ImportFrom) -> None:
        how = "imports (relatively)" if node.level else "imports"
        module = self.absolute(node.module, node.level)
        if module is None:
            self.report(node, "layer", "relative import reaches above the twin package")
            return
        reported = self.check_import(node, module, how)
        for alias in node.names:
            if alias.name != "*":
                if not reported:
                    # `from twin import store` imports the package twin.store.
                    reported = self.check_import(node, f"{module}.{alias.name}", how)
                self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"

    # -- names and calls -------------------------------------------------------------------------

    def qualified(self, node: ast.AST) -> str | None:
        """The dotted name an expression refers to, through imports and simple assignments."""
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            return f"builtins.{node.id}" if node.id in ("open", "__import__") else None
        if isinstance(node, ast.Attribute):
            owner = self.qualified(node.value)
            return f"{owner}.{node.attr}" if owner else None
        return None

    def learn_assignments(self, tree: ast.Module) -> None:
        """`now = datetime.now` or `clock = dt` make `now` and `clock` aliases too."""
        assignments = [
            (node.targets[0].id, node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ]
        for _ in range(3):  # chains of aliases, a few deep
            for target, value in assignments:
                name = self.qualified(value)
                if name and target not in self.aliases:
                    self.aliases[target] = name

    def check_reference(self, node: ast.Name | ast.Attribute) -> None:
        if not self.pure or not isinstance(node.ctx, ast.Load):
            return
        name = self.qualified(node)
        if name in CLOCK:
            self.report(node, "clock", f"reads the clock ({name}); pass `now` in")
        elif name in ENVIRONMENT:
            self.report(node, "environment", f"reads the environment ({name}); pass settings in")
        elif name in FILES:
            self.report(node, "files", f"touches files ({name}); the adapters read them")

    def check_call(self, node: ast.Call) -> None:
        name = self.qualified(node.func)
        first = node.args[0] if node.args else None
        literal = first.value if isinstance(first, ast.Constant) else None
        if name in DYNAMIC_IMPORTS:
            if isinstance(literal, str):
                self.check_import(node, self.dynamic_target(node, literal), "imports dynamically")
            elif self.pure:
                self.report(node, "dynamic-import", f"imports a computed name ({name})")
        if not self.pure:
            return
        if name in CLOCK_BY_LITERAL and literal in ("now", "today", "utcnow"):
            self.report(node, "clock", f"reads the clock ({name}({literal!r})); pass `now` in")
        elif name not in REPORTED_BY_NAME and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in CLOCK_METHODS:
                # Whatever it is asked of (a clock object, arrow, pendulum), `now` reads a clock.
                self.report(node, "clock", f"reads the clock (.{method}()); pass `now` in")
            elif method in FILE_METHODS:
                self.report(node, "files", f"touches files (.{method}()); the adapters do")

    @staticmethod
    def dynamic_target(node: ast.Call, literal: str) -> str:
        """`import_module(".store", "twin")` names twin.store."""
        package = next((k.value for k in node.keywords if k.arg == "package"), None)
        if package is None and len(node.args) > 1:
            package = node.args[1]
        if literal.startswith(".") and isinstance(package, ast.Constant):
            level = len(literal) - len(literal.lstrip("."))
            base = str(package.value).split(".")
            base = base[: len(base) - (level - 1)]
            return ".".join([*base, literal[level:]])
        return literal


def check_module(root: Path, path: Path) -> list[Violation]:
    """Every violation of the layer rules in one module of the package at `root`."""
    checker = _Checker(root, path)
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except SyntaxError as err:
        return [Violation(checker.shown, err.lineno or 1, "syntax", f"does not parse: {err.msg}")]
    return checker.run(tree)


def check_tree(root: Path) -> list[Violation]:
    """Every violation in the package at `root` (a `twin` folder), in file and line order."""
    return [v for path in _modules(root) for v in check_module(root, path)]


# -- the real tree ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_violations() -> list[Violation]:
    return check_tree(ROOT)


def _listing(violations: list[Violation]) -> str:
    return "\n".join(f"  {v}" for v in violations)


def test_real_tree_keeps_its_layers(real_violations: list[Violation]) -> None:
    assert not real_violations, (
        f"{len(real_violations)} layer violation(s):\n{_listing(real_violations)}"
    )


def test_optimiser_takes_its_deadline_in(real_violations: list[Violation]) -> None:
    broken = [v for v in real_violations if v.path.startswith("twin/optimise/")]
    assert not broken, f"the optimiser reads the clock:\n{_listing(broken)}"


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in ROOT.iterdir() if p.is_dir() and any(p.glob("*.py"))}
    assert packages == set(LAYERS)


# -- probes planted in a throw-away copy of the tree -------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A module planted in `package`, and the (line, kind) of each violation it must raise."""

    id: str
    package: str
    source: str
    expected: tuple[tuple[int, str], ...]


PROBES = [
    Probe("from-twin-import-store", "scoring", "from twin import store\n", ((1, "layer"),)),
    Probe("import-twin-store-as", "alerting", "import twin.store.db as db\n", ((1, "layer"),)),
    Probe(
        "from-twin-engine-import",
        "playbook",
        "from twin.engine import service\n",
        ((1, "layer"),),
    ),
    Probe("domain-imports-network", "domain", "from twin import network\n", ((1, "layer"),)),
    Probe("relative-sibling-package", "network", "from ..store import db\n", ((1, "layer"),)),
    Probe("relative-parent", "optimise", "from .. import feeds\n", ((1, "layer"),)),
    Probe(
        "relative-domain-up",
        "domain",
        "x = 1\nfrom ..scoring import monitors\n",
        ((2, "layer"),),
    ),
    Probe(
        "importlib-import-module",
        "scoring",
        "import importlib\n\nstore = importlib.import_module('twin.store')\n",
        ((3, "layer"),),
    ),
    Probe(
        "importlib-relative",
        "alerting",
        "from importlib import import_module\n\nfeeds = import_module('.feeds', 'twin')\n",
        ((3, "layer"),),
    ),
    Probe("dunder-import-sqlite3", "network", "db = __import__('sqlite3')\n", ((1, "forbidden"),)),
    Probe(
        "importlib-computed",
        "playbook",
        "import importlib\n\n\ndef load(name: str):\n    return importlib.import_module(name)\n",
        ((5, "dynamic-import"),),
    ),
    Probe(
        "time-perf-counter",
        "scoring",
        "import time\n\n\ndef f() -> float:\n    return time.perf_counter()\n",
        ((5, "clock"),),
    ),
    Probe("time-time", "alerting", "import time\n\nstarted = time.time()\n", ((3, "clock"),)),
    Probe(
        "time-monotonic",
        "network",
        "import time\n\n\ndef f() -> float:\n    return time.monotonic()\n",
        ((5, "clock"),),
    ),
    Probe(
        "from-time-import-perf-counter-as",
        "playbook",
        "from time import perf_counter as tick\n\nt0 = tick()\n",
        ((3, "clock"),),
    ),
    Probe(
        "pd-timestamp-now",
        "scoring",
        "import pandas as pd\n\nnow = pd.Timestamp.now()\n",
        ((3, "clock"),),
    ),
    Probe(
        "timestamp-utcnow",
        "alerting",
        "from pandas import Timestamp\n\nnow = Timestamp.utcnow()\n",
        ((3, "clock"),),
    ),
    Probe(
        "timestamp-literal-now",
        "domain",
        "import pandas as pd\n\nnow = pd.Timestamp('now')\n",
        ((3, "clock"),),
    ),
    Probe(
        "datetime-aliased",
        "scoring",
        "from datetime import datetime as dt\n\n\ndef f():\n    return dt.now()\n",
        ((5, "clock"),),
    ),
    Probe(
        "datetime-now-assigned",
        "playbook",
        "from datetime import datetime\n\nnow = datetime.now\nstamp = now()\n",
        ((3, "clock"), (4, "clock")),
    ),
    Probe(
        "datetime-module-aliased",
        "optimise",
        "import datetime as d\n\ntoday = d.date.today()\n",
        ((3, "clock"),),
    ),
    Probe(
        "datetime-class-reassigned",
        "network",
        "import datetime\n\nclock = datetime.datetime\nstamp = clock.utcnow()\n",
        ((4, "clock"),),
    ),
    Probe(
        "clock-object-now",
        "domain",
        "def f(clock):\n    return clock.now()\n",
        ((2, "clock"),),
    ),
    Probe(
        "os-environ",
        "scoring",
        "import os\n\nlevel = os.environ['TWIN_LEVEL']\n",
        ((3, "environment"),),
    ),
    Probe(
        "os-environ-get",
        "domain",
        "import os\n\nlevel = os.environ.get('TWIN_LEVEL')\n",
        ((3, "environment"),),
    ),
    Probe("os-getenv", "alerting", "import os\n\nurl = os.getenv('URL')\n", ((3, "environment"),)),
    Probe(
        "from-os-import-environ",
        "playbook",
        "from os import environ\n\n\ndef f():\n    return environ['X']\n",
        ((5, "environment"),),
    ),
    Probe(
        "builtin-open",
        "network",
        "def f(path: str) -> str:\n    with open(path) as fh:\n        return fh.read()\n",
        ((2, "files"),),
    ),
    Probe(
        "path-open",
        "optimise",
        "def f(path) -> str:\n    with path.open() as fh:\n        return fh.read()\n",
        ((2, "files"),),
    ),
    Probe(
        "path-read-text",
        "scoring",
        "def f(path) -> str:\n    return path.read_text()\n",
        ((2, "files"),),
    ),
    Probe(
        "path-write-text",
        "alerting",
        "from pathlib import Path\n\nPath('out.txt').write_text('x')\n",
        ((1, "forbidden"), (3, "files")),
    ),
    Probe(
        "pandas-read-csv",
        "scoring",
        "import pandas as pd\n\nframe = pd.read_csv('signals.csv')\n",
        ((3, "files"),),
    ),
    Probe("import-sqlite3", "network", "import sqlite3\n", ((1, "forbidden"),)),
    Probe("import-httpx", "scoring", "import httpx\n", ((1, "forbidden"),)),
    Probe(
        "from-urllib-request",
        "alerting",
        "from urllib.request import urlopen\n",
        ((1, "forbidden"),),
    ),
    Probe("import-requests", "playbook", "import requests\n", ((1, "forbidden"),)),
    Probe("import-socket", "optimise", "import socket\n", ((1, "forbidden"),)),
    Probe(
        "import-sqlmodel-in-domain", "domain", "from sqlmodel import Session\n", ((1, "forbidden"),)
    ),
]

# Code the pure core may well contain: none of it is a violation.
CLEAN = [
    (
        "scoring",
        (
            "from datetime import UTC, datetime, timedelta\n\n"
            "def f(now: datetime) -> datetime:\n"
            "    return now.replace(tzinfo=UTC) + timedelta(hours=1)\n"
        ),
    ),
    ("scoring", "import pandas as pd\n\n\ndef f(now):\n    return pd.Timestamp(now)\n"),
    ("scoring", "import pandas as pd\n\nstart = pd.Timestamp('2024-01-01T00:00Z')\n"),
    ("network", "from twin.domain import enums\nfrom twin.network import schema\n"),
    ("network", "from . import schema\nfrom .schema import NetworkFile\n"),
    ("optimise", "import pyomo.environ as pyo\n\nmodel = pyo.ConcreteModel()\n"),
    ("domain", "from datetime import datetime\n\nstamp = datetime.fromisoformat('2024-01-01')\n"),
    ("alerting", "def f(store: dict) -> None:\n    store.clear()\n"),
]


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """The real `twin` package's modules, copied to be planted in and thrown away."""
    copy = tmp_path / "twin"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "data", "static"))
    return copy


def _plant(root: Path, package: str, name: str, source: str) -> Path:
    path = root / package / f"{name.replace('-', '_')}.py"
    assert not path.exists()
    path.write_text(source)
    return path


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: p.id)
def test_probe_is_reported_with_file_and_line(tree_copy: Path, probe: Probe) -> None:
    path = _plant(tree_copy, probe.package, "probe_" + probe.id, probe.source)
    found = check_module(tree_copy, path)
    shown = f"twin/{probe.package}/{path.name}"
    assert [(v.line, v.kind) for v in found] == list(probe.expected), _listing(found)
    for violation, (line, _) in zip(found, probe.expected, strict=True):
        assert str(violation).startswith(f"{shown}:{line}: ")


@pytest.mark.parametrize(("package", "source"), CLEAN)
def test_clean_code_is_not_reported(tree_copy: Path, package: str, source: str) -> None:
    path = _plant(tree_copy, package, "clean_probe", source)
    assert check_module(tree_copy, path) == []


def test_probes_planted_in_real_modules_are_all_found(
    tree_copy: Path, real_violations: list[Violation]
) -> None:
    """Every probe appended to a real module of its package, the whole copy checked at once:
    the new violations are exactly the probes' (nothing missed, nothing else reported)."""
    expected: set[tuple[str, int, str]] = set()
    for probe in PROBES:
        target = tree_copy / probe.package / "__init__.py"
        lines = target.read_text().splitlines()
        offset = len(lines)
        target.write_text("\n".join(lines + probe.source.splitlines()) + "\n")
        expected |= {
            (f"twin/{probe.package}/__init__.py", offset + n, k) for n, k in probe.expected
        }
    found = set(check_tree(tree_copy)) - set(real_violations)
    assert {(v.path, v.line, v.kind) for v in found} == expected
