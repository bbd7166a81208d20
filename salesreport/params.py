"""Team parameters: ``params/defaults.yaml`` merged with ``params/<team>.yaml``.

The merged mapping is checked by a typed schema before anything runs. YAML is
read so that dates stay text (no implicit timestamps); months and dates are
parsed here, in one place.
"""

from __future__ import annotations

import difflib
import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from salesreport.exceptions import ParameterError

TEAM_RE = re.compile(r"^[a-z0-9_-]+$")
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
AUDIENCES = ("executive", "manager", "operations", "rep", "sdr", "forecast")
#: the API / data-export presets, then the CRM screens' own exports (salesreport/presets/)
PRESETS = (
    "salesforce", "hubspot", "pipedrive", "salesforce_report", "hubspot_export", "pipedrive_export",
)  # fmt: skip


def project_root() -> Path:
    """The repository root: ``SALESREPORT_HOME`` or the folder above the package."""
    env = os.environ.get("SALESREPORT_HOME")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class SqlSource(_Strict):
    """A SQL source. The connection URL is read from an environment variable only."""

    url_env: str | None = Field(
        None,
        description="name of the environment variable holding the database URL "
        "(postgresql://..., sqlite:///path, or another SQLAlchemy URL); left out with "
        "engine: spark, the tables are read from the Spark session's catalog",
    )
    tables: dict[str, str] = Field(
        default_factory=dict, description="table name -> SQL query or table"
    )


class EngineParams(_Strict):
    """Where the numbers are computed (:mod:`salesreport.backends`); ``engine: postgres`` is
    short for ``engine: {kind: postgres}``."""

    kind: Literal["duckdb", "postgres", "spark", "ibis"] = "duckdb"
    url_env: str | None = Field(
        None,
        description="postgres: the environment variable holding the postgresql://... URL "
        "(default: data.sql.url_env, the server the tables are read from); ibis (any other Ibis backend, not tested): the variable holding the URL ibis.connect "
        "takes, such as snowflake://... or trino://...",
    )
    master: str | None = Field(None, description="spark: the master URL; default local[*]")
    options: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="spark: settings such as spark.driver.memory"
    )
    staging: str | None = Field(
        None,
        description="spark with a cluster: a folder every executor reads (hdfs://..., "
        "s3a://..., or file:///... on storage every node mounts) where the run puts the "
        "checked tables as Parquet files, removed when the run ends; without it a cluster's "
        "tables go through the driver, which must hold them in memory",
    )

    @model_validator(mode="before")
    @classmethod
    def _short(cls, v: Any) -> Any:
        return {"kind": v} if isinstance(v, str) else v

    @model_validator(mode="after")
    def _needs(self) -> EngineParams:
        if self.kind not in ("postgres", "ibis") and self.url_env:
            raise ValueError(f"url_env is for engines postgres and ibis, not {self.kind}")
        if self.kind != "spark" and (self.master or self.options or self.staging):
            raise ValueError(f"master, options and staging are for engine spark, not {self.kind}")
        if self.staging is not None:
            if not is_uri(self.staging):
                raise ValueError(
                    f"staging {self.staging!r} is not a URI: name the folder with its scheme "
                    "(hdfs://namenode/tmp/salesreport, s3a://bucket/tmp, or file:///mnt/shared/tmp "
                    "for a folder every node of the cluster mounts)"
                )
            shown = uri_credentials(self.staging)
            if shown is not None:
                raise ValueError(
                    f"staging {shown}: the URI holds credentials. Give them through Spark's "
                    "environment (for s3a: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an "
                    "instance role), never in YAML"
                )
        secret = [k for k in self.options if SECRET_KEYS.search(str(k))]
        if secret:
            raise ValueError(
                f"engine.options {secret} look like credentials: they come from the "
                "environment (Spark reads SPARK_* variables and its own config files), never YAML"
            )
        return self


class StageMeaning(_Strict):
    """Which stage names close a deal (case-insensitive); every other stage is open."""

    won: list[str] = Field(default_factory=list)
    lost: list[str] = Field(default_factory=list)


class DataSource(_Strict):
    path: str | None = None  # folder of NAME.csv/.parquet/.xlsx; relative to the repository root
    preset: (
        Literal[
            "salesforce", "hubspot", "pipedrive",
            "salesforce_report", "hubspot_export", "pipedrive_export",
        ]
        | None
    ) = None  # fmt: skip
    mapping: dict[str, dict[str, str]] = Field(default_factory=dict)  # table -> {their: ours}
    sql: SqlSource | None = None
    encoding: str | None = None  # forced file encoding; default: detect UTF-8 (BOM) / cp1252
    # dates written with the year last (31/10/2026): day or month first; default: settled by a
    # value with a day above 12, else the run stops and asks for this setting
    date_order: Literal["day_first", "month_first"] | None = None
    # numbers' decimal mark; default: a point, a comma in a semicolon-separated file whose
    # numbers settle it (12,5 or 1.234,50)
    decimal: Literal["point", "comma"] | None = None
    # column -> value for every table whose files lack the column (region: DE)
    defaults: dict[str, str] = Field(default_factory=dict)
    # the stages that mean won and lost, for presets that read status from the stage
    stages: StageMeaning | None = None
    # follow a symbolic link in the data folder that points outside it
    allow_links: bool = False


def check_metric(v: str) -> str:
    """A KPI of the catalogue (``docs/kpis.md``), or an error with the nearest name: a target,
    key result or benchmark for a misspelt metric would otherwise be kept and never used."""
    from salesreport.kpis.catalogue import CATALOGUE

    if v not in CATALOGUE:
        close = difflib.get_close_matches(v, list(CATALOGUE), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(f"{v!r} is not a KPI ({hint}every KPI is listed in docs/kpis.md)")
    return v


#: a metric named in the YAML: a KPI of the catalogue (:func:`check_metric`)
KpiName = Annotated[str, AfterValidator(check_metric)]


class Target(_Strict):
    metric: KpiName
    period: str  # 2026-10, 2026-Q4 or 2026
    value: float
    rep_id: str | None = None
    region: str | None = None

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, v: Any) -> str:
        v = str(v)
        if not re.match(r"^\d{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$", v):
            raise ValueError(f"period {v!r} must look like 2026-10, 2026-Q4 or 2026")
        return v


class KeyResult(_Strict):
    name: str
    metric: KpiName
    window: Literal["month", "qtd", "ytd", "trailing12"] = "ytd"
    baseline: float
    target: float
    weight: float = Field(1.0, gt=0)
    committed: bool = False
    segment: str = "all"


class Objective(_Strict):
    name: str
    key_results: list[KeyResult] = Field(min_length=1)
    # hub-and-spoke: the same key results graded for each value of this segment column
    spokes: str | None = None


class Rag(_Strict):
    """The status thresholds of every KPI tile, key result and objective
    (:mod:`salesreport.status`): a ratio to where the figure should be by now at or above
    ``green`` is green, at or above ``amber`` amber, else red."""

    green: float = Field(1.0, gt=0)
    amber: float = Field(0.9, gt=0)


class Thresholds(_Strict):
    bad_row_share: float = Field(
        0.05, ge=0, le=1
    )  # above this share of bad rows a table stops the run
    # ... unless it has no more than this many bad rows (one bad row of a 16-row table)
    bad_rows_floor: int = Field(2, ge=0)
    stalled_days: int = Field(30, gt=0)  # a deal this long in one stage needs attention
    no_activity_days: int = Field(14, gt=0)
    anomaly_z: float = Field(3.0, gt=0)


class ForecastParams(_Strict):
    horizon: int = Field(12, ge=1, le=36)  # months to forecast
    levels: list[int] = Field(default_factory=lambda: [80, 95])
    segments: list[str] = Field(default_factory=list)  # segment columns forecast and reconciled
    ledger_path: str | None = None  # default reports/<team>/forecast_ledger.csv
    backtest_origins: int = Field(12, ge=1, le=60)


class CohortParams(_Strict):
    segment_by: list[str] = Field(default_factory=list)


#: the rows below its header that a spreadsheet opens (Excel, LibreOffice): the default
#: ``kpis_csv_max_rows``
SPREADSHEET_ROWS = 1_048_575


class TeamParams(_Strict):
    #: the YAML file read (load_params); error messages tell the user to edit this file
    _source: str | None = PrivateAttr(default=None)

    team: str
    display_name: str | None = None
    data: DataSource = Field(default_factory=DataSource)
    engine: EngineParams = Field(default_factory=EngineParams)
    filters: dict[str, list[str]] = Field(default_factory=dict)
    currency: str = "EUR"
    fx_rates: dict[str, float] = Field(default_factory=dict)  # 1 unit of CODE in the team currency
    timezone: str = "UTC"
    fiscal_year_start_month: int = Field(1, ge=1, le=12)
    targets: list[Target] = Field(default_factory=list)
    okrs: list[Objective] = Field(default_factory=list)
    rag: Rag = Field(default_factory=Rag)
    benchmarks: dict[str, float] = Field(default_factory=dict)
    stage_probabilities: dict[str, float] = Field(default_factory=dict)
    stage_order: list[str] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    audiences: list[Literal["executive", "manager", "operations", "rep", "sdr", "forecast"]] = (
        Field(default_factory=lambda: list(AUDIENCES))
    )
    forecast: ForecastParams = Field(default_factory=ForecastParams)
    cohorts: CohortParams = Field(default_factory=CohortParams)
    active_window_months: int = Field(12, ge=1, le=60)
    gross_margin: float = Field(1.0, gt=0, le=1)
    ramp_threshold: float = Field(0.8, gt=0, le=2)
    history_months: int = Field(24, ge=12, le=120)
    kpis_csv_max_rows: int = Field(SPREADSHEET_ROWS, ge=0)  # 0: no limit (salesreport.outputs)
    per_rep: bool = False
    workers: int = Field(2, ge=1, le=16)
    notebook_timeout: int = Field(600, ge=10)  # seconds per notebook cell
    strict: bool = False

    @field_validator("team")
    @classmethod
    def _team(cls, v: str) -> str:
        return check_team_name(v)

    @field_validator("benchmarks")
    @classmethod
    def _benchmarks(cls, v: dict[str, float]) -> dict[str, float]:
        for metric in v:
            check_metric(metric)
        return v

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if not re.match(r"^[A-Z]{3}$", v):
            raise ValueError(f"currency {v!r} must be an ISO 4217 code such as EUR")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except Exception as exc:  # ZoneInfoNotFoundError, ValueError
            raise ValueError(
                f"unknown time zone {v!r} (use an IANA name such as Europe/Berlin)"
            ) from exc
        return v

    @field_validator("stage_probabilities")
    @classmethod
    def _probs(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: p for k, p in v.items() if not 0 <= p <= 1}
        if bad:
            raise ValueError(f"stage probabilities must lie in [0, 1]: {bad}")
        return v

    @model_validator(mode="after")
    def _engine_url(self) -> TeamParams:
        """A server engine without its own ``url_env`` computes where ``data.sql`` reads:
        ``engine: postgres`` beside ``data.sql: {url_env: CRM_URL, ...}`` is the server
        ``$CRM_URL`` names (the tables stay there)."""
        if self.data.sql is not None and self.data.sql.url_env is None:
            if self.engine.kind != "spark":
                raise ValueError(
                    "data.sql needs url_env: the name of the environment variable holding the "
                    "database URL (for example data.sql: {url_env: CRM_URL, tables: ...}); "
                    "without one, data.sql.tables are read from Spark's catalog, which needs "
                    "engine: spark"
                )
            if not self.data.sql.tables:
                raise ValueError(
                    "data.sql without url_env reads data.sql.tables from Spark's catalog, "
                    "and names none (for example tables: {opportunities: crm.opportunities})"
                )
        if self.engine.kind in ("postgres", "ibis") and not self.engine.url_env:
            if self.data.sql is None:
                raise ValueError(
                    f"engine {self.engine.kind} needs url_env: the name of the environment "
                    "variable holding the server's URL (for example engine: {kind: "
                    f"{self.engine.kind}, url_env: SALESREPORT_PG_URL}}), or data.sql.url_env "
                    "when the tables are read from that server"
                )
            self.engine = self.engine.model_copy(update={"url_env": self.data.sql.url_env})
        return self

    @property
    def title(self) -> str:
        return self.display_name or self.team.upper()


def check_team_name(team: str) -> str:
    """Refuse a team name that could climb out of ``params/`` or ``reports/``."""
    if not isinstance(team, str) or not TEAM_RE.match(team) or team in {".", ".."}:
        raise ParameterError(
            f"team name {team!r} is not allowed: use lower-case letters, digits, '_' and '-' only "
            "(for example 'emea')"
        )
    if team == "all":
        raise ParameterError(
            "'all' is not a team: it means every team (make report TEAM=all, salesreport report "
            "--all-teams); give the team another name"
        )
    return team


def parse_month(text: str) -> tuple[int, int]:
    """``"2026-10"`` -> ``(2026, 10)``; a clear error otherwise."""
    if isinstance(text, str) and re.fullmatch(r"\d{4}-\d{2}", text):
        year, m = int(text[:4]), int(text[5:])
        if 1 <= m <= 12:
            return year, m
        raise ParameterError(
            f"month {text!r}: there is no month {m} (months run from 01 to 12): "
            f"write it as YYYY-MM, for example {year}-10"
        )
    raise ParameterError(f"month {text!r} must look like 2026-10 (YYYY-MM)")


def today() -> date:
    """Today's date: ``SALESREPORT_TODAY`` (``YYYY-MM-DD``) when set, to reproduce a run made
    on another day (the tests use it), else the system's."""
    fixed = os.environ.get("SALESREPORT_TODAY")
    return date.fromisoformat(fixed) if fixed else date.today()


def current_month(day: date | None = None) -> str:
    """The month ``day`` (default :func:`today`) falls in: ``2026-12``."""
    day = day or today()
    return f"{day.year:04d}-{day.month:02d}"


def last_complete_month(day: date | None = None) -> str:
    """The last month that is over on ``day`` (default :func:`today`)."""
    day = day or today()
    y, m = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return f"{y:04d}-{m:02d}"


def month_is_partial(month: str, day: date | None = None) -> bool:
    """Whether ``month`` is not over on ``day`` (the current month, or a later one)."""
    return month > last_complete_month(day)


def check_report_month(month: str, allow_partial: bool = False, day: date | None = None) -> bool:
    """Refuse a report month that is not over on ``day`` (default :func:`today`); with
    ``allow_partial``, the current month is built to date. Returns whether the month is
    partial. A month after the current one is refused either way."""
    parse_month(month)
    last, now = last_complete_month(day), current_month(day)
    if month <= last:
        return False
    if month == now and allow_partial:
        return True
    if month == now:
        raise ParameterError(
            f"{month} is not over yet: the last complete month is {last}. Build {last}, or "
            f"build {month} to date with --allow-partial (ALLOW_PARTIAL=1 with make)"
        )
    raise ParameterError(
        f"{month} has not begun: the last complete month is {last} "
        f"({now} can be built to date with --allow-partial)"
    )


class _TextDateLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates and timestamps as text (parsed in one place, here)."""


_TextDateLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ParameterError(f"{path}: no such parameters file") from exc
    try:
        data = yaml.load(text, Loader=_TextDateLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(
            f"{path}: must hold a mapping of settings, found {type(data).__name__}"
        )
    return data


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _did_you_mean(loc: tuple, model: type[BaseModel]) -> str:
    """Suggest the closest known key for an unknown one."""
    fields: dict = model.model_fields
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if current is None or not isinstance(part, str) or part not in current.model_fields:
            current = None
            break
        ann = current.model_fields[part].annotation
        current = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    if current is not None:
        fields = current.model_fields
    close = difflib.get_close_matches(str(loc[-1]), list(fields), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


#: settings that were removed, and what replaces them
REMOVED_SETTINGS = {
    "okr_bands": "OKR key results and objectives take their status from the one rule of every "
    "page, 'rag' against where the key result should be by now (docs/kpis.md, Status): "
    "remove okr_bands, and set rag: {green: 1.0, amber: 0.9} to change the thresholds",
}


def validate_params(raw: dict[str, Any], source: str = "parameters") -> TeamParams:
    removed = [
        f"  - '{k}' is no longer a setting: {REMOVED_SETTINGS[k]}"
        for k in raw
        if k in REMOVED_SETTINGS
    ]
    if removed:
        raise ParameterError(f"{source}: invalid parameters:\n" + "\n".join(removed))
    try:
        return TeamParams.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                lines.append(f"  - unknown setting '{loc}'{_did_you_mean(err['loc'], TeamParams)}")
            elif err["type"] == "value_error":  # our own checks name the value they refuse
                lines.append(f"  - {loc}: {err['msg'].removeprefix('Value error, ')}")
            else:
                lines.append(f"  - {loc}: {err['msg']} (got {err.get('input')!r})")
        raise ParameterError(f"{source}: invalid parameters:\n" + "\n".join(lines)) from None


def load_params(team: str | None = None, params_file: str | Path | None = None) -> TeamParams:
    """Merge ``params/defaults.yaml`` with the team's file and check the result.

    ``params_file`` may lie anywhere on disk; a file holding only ``team: NAME``
    is enough. Without it, ``params/<team>.yaml`` is read.
    """
    root = project_root()
    defaults = read_yaml(root / "params" / "defaults.yaml")
    if params_file is not None:
        path = Path(params_file)
        team_raw = read_yaml(path)
        if team is not None and team_raw.get("team", team) != team:
            raise ParameterError(
                f"{path}: says team {team_raw.get('team')!r} but --team {team!r} was given"
            )
        team_raw.setdefault("team", team)
    else:
        if not team:
            known = ", ".join(list_teams()) or "none"
            raise ParameterError(
                ("the team is empty: " if team == "" else "")
                + f"name a team (--team emea; configured teams: {known}) or a parameters file "
                "(--params FILE)"
            )
        check_team_name(team)
        path = root / "params" / f"{team}.yaml"
        if not path.exists():
            teams = list_teams()
            close = difflib.get_close_matches(team, teams, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ParameterError(
                f"no parameters for team {team!r}{hint}: {path} does not exist (configured "
                f"teams: {', '.join(teams) or 'none'}). Create it with at least 'team: {team}'."
            )
        team_raw = read_yaml(path)
        team_raw.setdefault("team", team)
        if team_raw["team"] != team:
            raise ParameterError(f"{path}: says team {team_raw['team']!r}, expected {team!r}")
    if team_raw.get("team") is None:
        raise ParameterError(f"{path}: must name the team ('team: emea')")
    merged = deep_merge(defaults, team_raw)
    params = validate_params(merged, source=str(path))
    params._source = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    return params


def params_source(params: TeamParams) -> str:
    """The YAML file to edit for ``params``: the ``--params`` file, else ``params/<team>.yaml``."""
    return params._source or f"params/{params.team}.yaml"  # noqa: SLF001 - set by load_params


def list_teams() -> list[str]:
    folder = project_root() / "params"
    return sorted(
        p.stem for p in folder.glob("*.yaml") if p.stem != "defaults" and TEAM_RE.match(p.stem)
    )


#: ``scheme://...``: a scheme of two letters or more (``C:\\data`` is a Windows folder)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def is_uri(path: str | Path | None) -> bool:
    """Whether ``path`` names a folder by URI (``hdfs://nn/exports/emea``), not a local path."""
    return path is not None and bool(_URI.match(str(path)))


def uri_credentials(uri: str) -> str | None:
    """``uri`` with its credentials masked when it holds some (``s3a://KEY:SECRET@bucket/...``,
    a signed URL's ``?sig=...``), else ``None``. ``abfss://container@account/...`` names a
    container, not a user: no credentials."""
    parts = urlsplit(uri)
    if parts.password is None and not parts.query:
        return None
    host = parts.netloc.rpartition("@")[2]
    netloc = f"***@{host}" if parts.password is not None else parts.netloc
    return urlunsplit(parts._replace(netloc=netloc, query="***" if parts.query else ""))


SECRET_KEYS = re.compile(r"(password|secret|token|key|url|dsn|credential)", re.I)


def masked(params: TeamParams) -> dict[str, Any]:
    """Parameters as plain data with anything secret-looking masked.

    Credentials never live in YAML (only the *names* of environment variables),
    but a value that happens to equal an environment secret is masked too.
    """
    data = params.model_dump(mode="json")
    secrets = set()
    for env in (params.data.sql.url_env if params.data.sql else None, params.engine.url_env):
        val = os.environ.get(env) if env else None
        if val:
            secrets.update({val, val.strip()} - {""})  # as set, and as the engines use it

    def walk(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        if isinstance(obj, str) and obj in secrets:
            return "***"
        return obj

    return walk(data)
