"""The daemon's configuration (`twin.toml`, SPEC 1.6) as one validated model with documented defaults.

Pure: `TwinConfig.from_mapping(data, file)` takes the parsed TOML (a dict) and either returns the
configuration with every default filled in or raises InputError listing every problem, each
naming the file, the table and the key::

    twin.toml: [[feeds]][1]: field 'every': not a duration: 'soon' (use e.g. 30s, 5m, 6h, 2d)
    twin.toml: [monitor]: field 'evry': unknown key (did you mean 'every'?)

Unknown keys are errors: a typo must not silently fall back to a default. The `[scoring]` and
`[alerts]` tables are kept here as plain mappings; `twin.files.config.load_config` validates them
with the scoring and alerting models (which live above this layer). Reading the file and the
TWIN_DATABASE_URL override happen there too. Every default is listed in docs/configuration.md.
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from twin.domain.durations import format_duration, parse_duration
from twin.domain.problems import InputError, Problem, pydantic_problems


def _positive_duration(value: Any) -> timedelta:
    duration = parse_duration(value)
    if duration <= timedelta(0):
        raise ValueError(f"must be longer than 0: {value!r}")
    return duration


# `30s`, `5m`, `6h`, `2d` (or seconds); written back the same way.
Every = Annotated[
    timedelta,
    BeforeValidator(_positive_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]

FEED_FORMATS = ("auto", "cap", "dcsa", "jsonl", "csv")
CHANNEL_KINDS = ("webhook", "alertmanager", "slack", "pagerduty")
DATABASE_SCHEMES = ("sqlite", "postgresql")


class _Table(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MonitorSettings(_Table):
    """`[monitor]`: how often the monitors score the signals and run the alert rules, and the
    wall-clock deadline of one pass (`replan_budget`, from its start): its playbooks' re-plans
    get what the rest of the pass leaves of it."""

    every: Every = timedelta(minutes=5)
    replan_budget: Every = timedelta(seconds=60)


class FeedSettings(_Table):
    """`[[feeds]]`: one signal source the daemon polls, a file glob or a URL."""

    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    path: str | None = Field(default=None, min_length=1)
    url: str | None = Field(default=None, min_length=1)
    format: Literal["auto", "cap", "dcsa", "jsonl", "csv"] = "auto"
    every: Every = timedelta(seconds=30)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL: {url!r}")
        return url

    @model_validator(mode="after")
    def _one_source(self) -> FeedSettings:
        problem = _feed_source_problem(self.model_dump())
        if problem:
            raise ValueError(problem)
        return self


def _feed_source_problem(entry: dict[str, Any]) -> str | None:
    if (entry.get("path") is None) == (entry.get("url") is None):
        return "give either `path` (a file glob) or `url`, not both or neither"
    if entry.get("headers") and entry.get("url") is None:
        return "`headers` only apply to a `url` feed"
    return None


class ReplanSettings(_Table):
    """`[replan]`: how often shipments exposed to open alerts are re-planned."""

    every: Every = timedelta(minutes=15)


PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"


class EmissionsSettings(_Table):
    """`[emissions]`: CO2e accounting and the carbon price the planner weighs (docs/emissions.md)."""

    carbon_price_per_t: float = Field(default=0.0, ge=0)
    """Money (the network's currency) per tonne CO2e added to the plan objective; 0: none."""
    table: str | None = Field(default=None, min_length=1)
    """An emission intensity table (YAML); None: the bundled twin/data/emission_intensities.yaml."""


class ChannelSettings(_Table):
    """`[[notify.channels]]`: where a playbook's `notify: {channel: NAME}` is delivered.

    kind: `webhook` (twin's JSON), `alertmanager` (its v2 API under `url`), `slack` (an incoming
    webhook URL), `pagerduty` (Events API v2: `url` defaults to PagerDuty's, `routing_key`
    is the integration key of the service).
    """

    name: str = Field(min_length=1, max_length=120)
    kind: Literal["webhook", "alertmanager", "slack", "pagerduty"] = "webhook"
    url: str = Field(default="", description="required except for pagerduty")
    routing_key: str | None = Field(default=None, min_length=1)
    timeout: Every = timedelta(seconds=5)
    attempts: int = Field(default=4, ge=1, le=20)
    headers: dict[str, str] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if url and not url.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL: {url!r}")
        return url

    @model_validator(mode="before")
    @classmethod
    def _pagerduty_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") == "pagerduty" and not data.get("url"):
            return {**data, "url": PAGERDUTY_EVENTS_URL}
        return data

    @model_validator(mode="after")
    def _complete(self) -> ChannelSettings:
        if self.kind == "pagerduty":
            if self.routing_key is None:
                raise ValueError("a pagerduty channel needs `routing_key` (the integration key)")
        elif not self.url:
            raise ValueError(f"a {self.kind} channel needs `url`")
        elif self.routing_key is not None:
            raise ValueError("`routing_key` is for pagerduty channels only")
        return self


class NotifySettings(_Table):
    """`[notify]`: the notification channels, by name."""

    channels: list[ChannelSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> NotifySettings:
        _no_repeats([c.name for c in self.channels], "channel")
        return self

    def channel(self, name: str) -> ChannelSettings | None:
        return next((c for c in self.channels if c.name == name), None)


class ServeSettings(_Table):
    """`[serve]`: where the on-call console and JSON API listen, and how they guard sign-in."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=1, le=65535)
    external_url: str | None = None
    """The console's address as people reach it (behind a proxy: `https://twin.example.org`).
    Every link twin sends (notifications, generatorURL) starts with it; `https://` also marks
    the session cookie secure. Default: `http://HOST:PORT`."""
    cookie_secure: bool | None = None
    """Session cookies only over HTTPS (and HSTS sent); None: on when external_url is https."""
    api_docs_public: bool = False
    """True: /api/docs and /api/openapi.json readable without signing in."""
    sign_in_per_minute: int = Field(default=10, ge=1)
    """Sign-in attempts per client address per minute."""
    sign_in_failures: int = Field(default=5, ge=1)
    """Failed sign-ins per user name within sign_in_window before that name is refused."""
    sign_in_window: Every = timedelta(minutes=15)
    sign_in_concurrency: int = Field(default=2, ge=1, le=64)
    """Password checks (Argon2id, ~64 MiB each) run at once per process."""
    sign_in_queue: int = Field(default=8, ge=0, le=1000)
    """Sign-ins that may wait for a check; more are refused at once (429)."""

    @field_validator("external_url")
    @classmethod
    def _http(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError(f"must be an http:// or https:// URL: {url!r}")
        return url.rstrip("/") if url is not None else None

    @property
    def base_url(self) -> str:
        """Where links point: `external_url`, else the address twin serve listens on."""
        if self.external_url:
            return self.external_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def secure(self) -> bool:
        """Whether cookies are marked Secure and HSTS is sent."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return bool(self.external_url and self.external_url.startswith("https://"))


class LimitSettings(_Table):
    """`[limits]`: how much one input may hold (docs/signals.md, "Limits"). A feed file over a
    file-wide limit is quarantined whole; a row over a row limit is quarantined alone; a
    network, facility, shipments, playbook, scenario or config file over them is refused
    (exit 2)."""

    csv_mb: float = Field(default=64, gt=0)
    jsonl_mb: float = Field(default=64, gt=0)
    json_mb: float = Field(default=32, gt=0)
    """A JSON list of signals, DCSA JSON."""
    cap_mb: float = Field(default=16, gt=0)
    rows_per_file: int = Field(default=200_000, ge=1)
    text_chars: int = Field(default=10_000, ge=1)
    quarantined_rows_per_file: int = Field(default=1_000, ge=0)
    depth: int = Field(default=32, ge=2, le=500)
    """Nesting of JSON values, XML elements, TOML and YAML collections."""
    file_mb: float = Field(default=64, gt=0)
    """Network, facility, shipments, playbook, scenario and config files."""
    yaml_nodes: int = Field(default=2_000_000, ge=1)
    """Values of one YAML document once its aliases are expanded (an alias bomb is refused)."""


class StockSettings(_Table):
    """`[stock]`: the stock dimension (docs/stock.md, "Monitoring"). With `path` set, each
    monitor pass projects every warehouse x SKU at the plan of record's ETAs under the
    current risks' expected delays and scores each warehouse's shortage within its
    replenishment lead time, weighted by margin at risk."""

    path: str | None = Field(default=None, min_length=1)
    """Stock inputs: a folder (stock.csv, demand.csv, forecast.csv, shipment_lines.csv) or a
    .yaml file (SPEC 1.7); None: no stock monitoring."""
    horizon_days: int = Field(default=120, ge=1, le=730)
    """Days projected from each pass."""
    lead_time_days: float | None = Field(default=None, gt=0)
    """Replenishment lead time of every warehouse; None: from the network (the fastest sea,
    rail or road route from an origin, with handling and clearance)."""
    lead_times: dict[str, float] = Field(default_factory=dict)
    """Per warehouse id, overriding the above (days > 0)."""
    margin_at_half: float = Field(default=10_000.0, gt=0)
    """Margin at risk (the network's currency) that scores 0.5: score = m / (m + this)."""
    skus_shown: int = Field(default=10, ge=1, le=1000)
    """SKUs at risk kept per warehouse in an alert's chain and on the console."""

    @field_validator("lead_times")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        bad = sorted(k for k, v in value.items() if not v > 0)
        if bad:
            raise ValueError(f"lead times must be above 0 days: {', '.join(bad)}")
        return value


class LeaderSettings(_Table):
    """`[leader]`: with several daemons on one database, one holds a lease and does the work."""

    lease_seconds: float = Field(default=15.0, gt=0)


def _repeats(names: list[Any], what: str) -> str | None:
    repeated = sorted({str(n) for n in names if names.count(n) > 1})
    return f"{what} names repeat: {', '.join(repeated)}" if repeated else None


def _no_repeats(names: list[str], what: str) -> None:
    problem = _repeats(names, what)
    if problem:
        raise ValueError(problem)


def _cross_problems(data: dict[str, Any], file: str) -> list[Problem]:
    """The checks across keys, on the raw mapping: pydantic skips a model's own checks when one
    of its fields failed, and a user should see every problem in one go."""
    out: list[Problem] = []
    feeds = data.get("feeds")
    if isinstance(feeds, list):
        entries = [f for f in feeds if isinstance(f, dict)]
        for index, entry in enumerate(feeds):
            problem = _feed_source_problem(entry) if isinstance(entry, dict) else None
            if problem:
                out.append(Problem(file, table_name(("feeds", index)), None, problem))
        problem = _repeats([f["name"] for f in entries if "name" in f], "feed")
        if problem:
            out.append(Problem(file, "", None, problem))
    notify = data.get("notify")
    channels = notify.get("channels") if isinstance(notify, dict) else None
    if isinstance(channels, list):
        problem = _repeats(
            [c["name"] for c in channels if isinstance(c, dict) and "name" in c], "channel"
        )
        if problem:
            out.append(Problem(file, "[notify]", None, problem))
    return out


class TwinConfig(_Table):
    """Everything the daemon reads from `twin.toml`; every key has a default (see
    docs/configuration.md), so an empty file is a valid configuration."""

    database_url: str | None = None
    """None: TWIN_DATABASE_URL, else sqlite:///twin.db in the working directory."""
    network: str = Field(default="demo", min_length=1)
    shipments: str | None = None
    playbooks: str = Field(default="playbooks", min_length=1)
    shadow: bool = False
    """True: playbooks propose and record, but never apply a plan."""
    monitor: MonitorSettings = MonitorSettings()
    feeds: list[FeedSettings] = Field(default_factory=list)
    scoring: dict[str, Any] = Field(default_factory=dict)
    """Raw `[scoring]` table (twin.scoring.config.ScoringConfig), validated by load_config."""
    alerts: dict[str, Any] = Field(default_factory=dict)
    """Raw `[alerts]` table (twin.alerting.rules.AlertRules), validated by load_config."""
    replan: ReplanSettings = ReplanSettings()
    emissions: EmissionsSettings = EmissionsSettings()
    notify: NotifySettings = NotifySettings()
    serve: ServeSettings = ServeSettings()
    leader: LeaderSettings = LeaderSettings()
    limits: LimitSettings = LimitSettings()
    stock: StockSettings = StockSettings()

    @field_validator("database_url")
    @classmethod
    def _scheme(cls, url: str | None) -> str | None:
        if url is None:
            return None
        scheme = url.split(":", 1)[0].split("+", 1)[0]
        if "://" not in url or scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"not a database URL twin can use: {url!r} "
                "(sqlite:///FILE or postgresql+psycopg://USER@HOST/DB)"
            )
        return url

    @model_validator(mode="after")
    def _unique_feeds(self) -> TwinConfig:
        _no_repeats([f.name for f in self.feeds], "feed")
        return self

    def feed(self, name: str) -> FeedSettings | None:
        return next((f for f in self.feeds if f.name == name), None)

    @classmethod
    def from_mapping(cls, data: dict[str, Any] | None, file: str = "twin.toml") -> TwinConfig:
        """Validate a parsed `twin.toml`; raises InputError naming file, table and key of
        every problem (unknown keys included)."""
        try:
            return cls.model_validate(dict(data or {}))
        except ValidationError as exc:
            problems = config_problems(exc, file, cls)
            seen = {str(p) for p in problems}
            problems += [p for p in _cross_problems(dict(data or {}), file) if str(p) not in seen]
            raise InputError(problems) from None


# Tables written `[[name]]` in TOML (arrays of tables) and the model of each entry.
_ARRAYS: dict[tuple[str, ...], type[BaseModel]] = {
    ("feeds",): FeedSettings,
    ("notify", "channels"): ChannelSettings,
}


def _model_at(root: type[BaseModel], path: tuple[str, ...]) -> type[BaseModel] | None:
    """The model of the table at `path` (keys only, list indices removed), if there is one."""
    if path in _ARRAYS:
        return _ARRAYS[path]
    model: type[BaseModel] | None = root
    for key in path:
        field = model.model_fields.get(key) if model is not None else None
        annotation = field.annotation if field is not None else None
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
    return model


def table_name(loc: tuple[str | int, ...]) -> str:
    """`[monitor]`, `[[feeds]][1]` (entries count from 1), `[[notify.channels]][2]`, or "" for
    the top level: where a key sits, as a TOML reader would look for it."""
    keys = [str(k) for k in loc if not isinstance(k, int)]
    if not keys:
        return ""
    index = next((k for k in loc if isinstance(k, int)), None)
    name = ".".join(keys)
    return f"[[{name}]][{index + 1}]" if index is not None else f"[{name}]"


def config_problems(
    exc: ValidationError,
    file: str,
    root: type[BaseModel] = TwinConfig,
    prefix: tuple[str | int, ...] = (),
) -> list[Problem]:
    """Problems from a ValidationError of (a table of) the configuration, each naming its table
    and key; unknown keys say so and suggest the nearest known one."""
    out: list[Problem] = []
    for err, problem in zip(exc.errors(), pydantic_problems(exc, file, ""), strict=True):
        inner = tuple(err.get("loc", ()))
        loc = (*prefix, *inner)
        keys = tuple(str(p) for p in inner if not isinstance(p, int))
        # The key is the last name in loc; everything before it is the table it sits in. A
        # check of a whole table (or [[array]] entry) names the table and no key.
        names = [i for i, part in enumerate(loc) if not isinstance(part, int)]
        whole = err.get("type") == "value_error" and (
            _model_at(root, keys) is not None or (bool(inner) and isinstance(inner[-1], int))
        )
        if whole or not names or err.get("type") in ("model_type", "dict_type", "list_type"):
            table, key = loc, None
        else:
            table, key = loc[: names[-1]], str(loc[names[-1]])
        message = problem.message
        plain = str(err.get("msg", "")).removeprefix("Value error, ")
        if "input" in err and repr(err["input"]) in plain:
            message = plain  # the value is already in the message: no "(got ...)" again
        if err.get("type") == "model_type":
            message = f"must be a table (got {err.get('input')!r:.60})"
        elif err.get("type") == "list_type":
            message = f"must be an array of tables, written [[{'.'.join(keys)}]]"
        elif err.get("type") == "extra_forbidden":
            model = _model_at(root, keys[:-1])
            known = sorted(model.model_fields) if model is not None else []
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
            message = f"unknown key ({hint})"
        out.append(Problem(file, table_name(table), key, message))
    return out


__all__ = [
    "CHANNEL_KINDS",
    "FEED_FORMATS",
    "PAGERDUTY_EVENTS_URL",
    "ChannelSettings",
    "FeedSettings",
    "LeaderSettings",
    "LimitSettings",
    "MonitorSettings",
    "NotifySettings",
    "ReplanSettings",
    "ServeSettings",
    "StockSettings",
    "TwinConfig",
    "config_problems",
    "table_name",
]
