"""The bundled sample organisation: a seeded, realistic sales company in three teams.

One software company sells subscriptions (``core``, ``analytics``) and one-off
``services`` in eleven regions, grouped as the three teams of ``params/*.yaml``:

* EMEA: DE, UK, FR, NL, ES (currencies EUR, GBP; team currency EUR);
* NA: US-East, US-West, CA (USD, CAD; team currency USD);
* APAC: AU, JP, SG (AUD, JPY, SGD; team currency AUD).

:func:`generate_sample` returns every table of the data contract as the files
hold them (contract column names, dates as ISO text ``YYYY-MM-DD``, activity
timestamps as ISO 8601 text with an offset or ``Z``); :func:`write_sample`
writes them as ``NAME.csv`` (or ``NAME.parquet``); :func:`ensure_sample` keeps
one copy per report month under ``<project root>/.cache/sample/``.

How the data is made
--------------------
* **History.** Rows are dated from ``SAMPLE_START`` (2022-01) to the end of
  ``end_month``. The company is older: a burn-in from 2012 builds the book of
  subscription customers, so 2022 starts with a steady customer base. Orders,
  leads, activities, spend and forecast submissions dated before 2022-01 are not
  written; opportunities are written when they close (or are still open) on or
  after 2022-01-01, so some were created in late 2021; reps are written when
  still employed on 2022-01-01 or hired later; accounts when a written
  opportunity or order refers to them. Customers of the burn-in appear in the
  orders from 2022-01 on (annually billed ones at their 2022 anniversary), so the
  2022 cohorts and 2022 new_customers hold the pre-existing customers (a truncated
  export); from 2023 on, cohorts are genuine.
* **Stable months.** Every random draw is a hash of ``(seed, row path, field)``
  (a counter-based generator), never a position in a shared stream; counts are
  drawn per (region, month). A row therefore never depends on ``end_month``: a
  later sample reproduces every earlier row that was final by the earlier end
  (closed opportunities, orders, leads with their outcome, activities, reps who
  left, targets, spend, submissions). Rows that were still in motion change as
  time passes: an opportunity open at the end of ``end_month`` is written with
  status ``open``, the stage it had reached then, that stage's probability and
  forecast category, and an *expected* close date after ``end_month``; a lead not
  yet converted or disqualified is ``new`` or ``working``; a rep's ``leave_date``
  appears once it has passed.
* **Volumes** (scale 1, 2022-01 to 2026-10): about 9.5k opportunities (45k stage
  changes), 15.5k leads, 48k activities, 14k orders, 5.7k accounts, 200 reps;
  ``scale`` multiplies leads, opportunities and head count (and so activities and
  orders). Everything is vectorised (numpy); scale 10 takes a few seconds.
* **Seasonality and growth.** Lead and opportunity creation follow a calendar
  profile (slow August and December, busy March, September-November), stronger
  in EMEA than NA and APAC; about 40% (50% in Q4) of won deals that would close
  in the second or third month of a quarter are pulled into its last ten days;
  December closes after the 20th are pulled back to mid-December; a year-end push
  pulls about half of January's (a quarter of February's) wins into December, and
  deals won in Q4 are 20% bigger (year-end budgets); 35% of August closes slip
  into September. Revenue (orders) follows: Q4 above Q3 every year, August the
  slowest summer month. Volumes grow 15-25% a year, differently per region (ES,
  SG and US-West fastest; UK and CA slowest). Revenue lands near the teams' YAML
  targets (EMEA 2025 about 12.5M EUR, NA FY2026 about 17.7M USD, APAC FY2026
  about 7.7M AUD).
* **People.** Per region: AEs and SDRs (headcount tracks volume, with attrition:
  AE tenure about 2.5 years, SDR about 1.5 years, replacements hired the month
  before a planned departure) and managers (one per about eight reps, each with
  successors); managers report to the team's VP. ``manager_id`` is the manager of
  the rep's slot when the rep left, or at the end of ``end_month``. New AEs are
  assigned fewer opportunities and win less for their first three months.
* **Funnel.** SDR-owned leads (``web``, ``event``, ``outbound``, ``referral``,
  ``partner``) convert (12-40% by source and segment) 3-40 days after creation
  into a new-business opportunity created on the ``converted_date``; others end
  ``disqualified`` or ``nurture`` 20-60 days after creation. AEs also open
  opportunities without a lead (outbound, referral, partner). Stages run
  Prospecting, Qualification, Discovery, Proposal, Negotiation, then Closed Won or
  Closed Lost (lost deals stop at any stage); ``stage_history`` has one row per
  stage entered (first on ``created_date``, dates non-decreasing, the closed stage
  on ``close_date``), cut at the end of ``end_month``.
* **Customers and revenue.** A won subscription is invoiced (``orders``) monthly
  (mostly SMB) or annually in advance over its ``contract_months``; the invoices
  add up to the opportunity's ``amount`` (total contract value). ``services``
  deals are one invoice at close. Every won subscription gets a ``renewal``
  opportunity (created 45-90 days before the contract ends, won 75-90% of the
  time, with a price change of about +4%); a lost renewal ends the customer's
  orders. About a quarter of won subscriptions get an ``expansion`` opportunity
  (the other subscription product) during the contract.
* **Currencies.** ``amount`` is in the row's ``currency`` (the region's own) at
  realistic magnitudes (JPY about 150 times USD). ``targets``, ``spend`` and
  ``forecast_submissions`` have no currency column: their amounts are in the
  *team's* currency (EUR, USD, AUD) at the fx rates of ``params/*.yaml``.
* **Targets** (set like a real plan, from the trailing 12 months to October of
  the year before, grown by the region's growth plus a little ambition, spread by
  last year's monthly profile): monthly per region (``rep_id`` empty) for
  ``revenue`` (orders), ``deals_won``, ``pipeline_created_value`` and
  ``meetings``, for every month of 2022 through the end of ``end_month``'s year;
  and per AE (``rep_id`` set, metric ``revenue``) a monthly quota of *won
  opportunity amount* (bookings) for each month the AE is employed up to
  ``end_month``, ramped 25/50/75% in the first three months. Team-level rows
  (``rep_id`` empty) and per-AE quotas must not be added together.
* **Spend**: monthly per region, ``sales`` (loaded headcount cost of the reps
  employed in the month) and ``marketing`` (a fixed programme budget plus a cost
  per lead, more in event months).
* **Forecast submissions**: per region, on a weekday in the last week of month
  M-1, a ``commit`` (about 6% under the revenue that came in, spread about 8%) and
  a ``best_case`` (about 6% over) for month M, up to ``end_month`` + 1.

Injected dirt (always below 2% of a table's rows; chosen by hashed row keys, so
stable across end months)
----------------------------------------------------------------------------
* ``opportunities``: about 0.15% of rows written twice (exact duplicate rows,
  the copy right after the original); about 0.15% of closed opportunities with a
  ``close_date`` 1-20 days *before* their ``created_date`` (their stage_history
  keeps the true dates); about 0.3% of won opportunities with ``status`` written
  ``"Won "`` (fixable: case and space); about 0.3% with ``source`` a blank string
  of two spaces; about 0.3% of amounts of 1,000 or more written with a thousands
  separator (``"12,500.00"``). The ``amount`` column is text, two decimals.
* ``orders``: about 0.1% of rows with a negative ``amount`` (the invoice amount
  with its sign flipped).
* ``activities``: about 0.2% of rows whose ``rep_id`` (``R9`` and digits, one
  character longer than any real rep ID) is not in ``reps``; about 0.3% with
  ``outcome`` a blank string of two spaces.
* ``leads``: about 0.3% with ``segment`` a blank string of two spaces.
* ``accounts``: about 0.5% with ``industry`` a blank string of two spaces.

:func:`dirt_counts` counts each kind in a generated sample.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from salesreport.params import last_complete_month, parse_month, project_root
from salesreport.tables import TABLE_NAMES

SAMPLE_START = "2022-01"
_BURN_IN_START = "2012-01"
# activities before this are never needed (the first targets look back to 2020-11)
_ACTIVITY_START = "2020-06"
_DEFAULT_SEED = 7

# --------------------------------------------------------------------------------------
# The organisation
# --------------------------------------------------------------------------------------
REGIONS = ("DE", "UK", "FR", "NL", "ES", "US-East", "US-West", "CA", "AU", "JP", "SG")
TEAMS = ("emea", "na", "apac")
_TEAM_OF = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
TEAM_CURRENCY = {"emea": "EUR", "na": "USD", "apac": "AUD"}
REGION_CURRENCY = dict(
    zip(
        REGIONS,
        ("EUR", "GBP", "EUR", "EUR", "EUR", "USD", "USD", "CAD", "AUD", "JPY", "SGD"),
        strict=True,
    )
)
# Units of each currency per US dollar, consistent with the fx_rates of params/*.yaml
# (EMEA: GBP 1.17, USD 0.92 EUR; NA: CAD 0.73, EUR 1.09 USD; APAC: USD 1.52, JPY 0.0101,
# SGD 1.13 AUD).
PER_USD = {
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.92 / 1.17,
    "CAD": 1 / 0.73,
    "AUD": 1.52,
    "JPY": 1.52 / 0.0101,
    "SGD": 1.52 / 1.13,
}
_TZ = (
    "Europe/Berlin",
    "Europe/London",
    "Europe/Paris",
    "Europe/Amsterdam",
    "Europe/Madrid",
    "America/New_York",
    "America/Los_Angeles",
    "America/Toronto",
    "Australia/Sydney",
    "Asia/Tokyo",
    "Asia/Singapore",
)
_COUNTRY = ("DE", "GB", "FR", "NL", "ES", "US", "US", "CA", "AU", "JP", "SG")
_LEGAL = (
    "GmbH",
    "Ltd",
    "SAS",
    "B.V.",
    "S.L.",
    "Inc.",
    "Inc.",
    "Corp.",
    "Pty Ltd",
    "K.K.",
    "Pte Ltd",
)
# share of the company's volume, yearly growth, seasonal amplitude
_WEIGHT = np.array([0.14, 0.10, 0.07, 0.05, 0.04, 0.20, 0.17, 0.07, 0.08, 0.05, 0.03])
_GROWTH = np.array([0.18, 0.15, 0.20, 0.22, 0.24, 0.19, 0.24, 0.16, 0.18, 0.22, 0.25])
_SEASON_AMP = np.array([1.25, 1.1, 1.3, 1.2, 1.35, 0.8, 0.75, 0.85, 0.7, 0.8, 0.6])
# price level per region (calibrates revenue to the teams' YAML targets)
_PRICE = np.array([0.75, 0.75, 0.75, 0.75, 0.75, 0.89, 0.89, 0.89, 0.6, 0.6, 0.6])
# creation profile by calendar month (Jan..Dec): slow August and December
_SEASON = np.array([0.95, 1.0, 1.08, 1.0, 1.05, 1.0, 0.9, 0.62, 1.1, 1.15, 1.08, 0.72])

# volumes at 2022-01, scale 1, whole company, per month
_LEADS_0 = 175.0
_DIRECT_0 = 22.0
_AE_0 = 20.0
_SDR_0 = 8.5
_REPS_PER_MANAGER = 8.0

STAGES = ("Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation")
STAGE_PROBABILITY = np.array([0.1, 0.2, 0.35, 0.55, 0.75])
STAGE_FORECAST = np.array(["pipeline", "pipeline", "pipeline", "best_case", "commit"], dtype=object)
SOURCES = np.array(["web", "event", "outbound", "referral", "partner"], dtype=object)
SEGMENTS = np.array(["smb", "mid-market", "enterprise"], dtype=object)
PRODUCTS = np.array(["core", "analytics", "services"], dtype=object)
TYPES = np.array(["new_business", "expansion", "renewal"], dtype=object)
INDUSTRIES = np.array(
    [
        "software",
        "manufacturing",
        "retail",
        "financial services",
        "healthcare",
        "logistics",
        "education",
        "media",
    ],
    dtype=object,
)
LOST_REASONS = np.array(
    ["price", "competitor", "no decision", "timing", "no budget", "product fit"], dtype=object
)
_LEAD_SOURCE_P = [0.40, 0.15, 0.25, 0.10, 0.10]
_DIRECT_SOURCE_P = [0.0, 0.0, 0.45, 0.25, 0.30]
_CONVERT_P = np.array([0.20, 0.18, 0.15, 0.40, 0.30])  # by source
_SOURCE_WIN = np.array([1.0, 0.9, 0.75, 1.4, 1.15])
_SEG_WIN = np.array([0.30, 0.26, 0.21])
_SEG_ACV_USD = np.array([9000.0, 32000.0, 105000.0])  # median annual value
_SEG_CYCLE = np.array([28.0, 55.0, 100.0])  # median days created -> close
_SEG_MONTHLY_BILLING = np.array([0.25, 0.06, 0.0])
_SEG_RENEW = np.array([0.76, 0.85, 0.9])
_CM = np.array([12, 24, 36])
_SEG_CM_P = np.array([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.3, 0.35, 0.35]])
_COST_USD = {"ae": 12500.0, "sdr": 7000.0, "manager": 16000.0}  # loaded monthly cost
_COST_PER_LEAD_USD = 400.0
_MARKETING_BASE_USD = 40000.0  # company-wide programmes per month at scale 1, split by region

_FIRST = np.array(
    [
        "Anna",
        "Ben",
        "Clara",
        "David",
        "Elena",
        "Felix",
        "Grace",
        "Hugo",
        "Ines",
        "Jonas",
        "Kira",
        "Liam",
        "Maya",
        "Noah",
        "Olga",
        "Paul",
        "Quinn",
        "Rosa",
        "Sam",
        "Tara",
        "Umar",
        "Vera",
        "Will",
        "Xenia",
        "Yusuf",
        "Zoe",
        "Aiko",
        "Kenji",
        "Mei",
        "Ravi",
        "Priya",
        "Lucas",
    ],
    dtype=object,
)
_LAST = np.array(
    [
        "Müller",
        "Schmidt",
        "Smith",
        "Jones",
        "Martin",
        "Bernard",
        "de Vries",
        "Jansen",
        "García",
        "López",
        "Johnson",
        "Brown",
        "Miller",
        "Davis",
        "Wilson",
        "Tremblay",
        "Roy",
        "Taylor",
        "White",
        "Sato",
        "Suzuki",
        "Tan",
        "Lim",
        "Nguyen",
        "Chen",
        "Walker",
        "Kelly",
        "Fischer",
        "Weber",
        "Rossi",
        "Novak",
        "Berg",
    ],
    dtype=object,
)
_NAME_A = np.array(
    [
        "North",
        "Blue",
        "Silver",
        "Bright",
        "Iron",
        "Green",
        "Swift",
        "Clear",
        "Red",
        "Stone",
        "Oak",
        "Sun",
        "Nova",
        "Alpine",
        "Coastal",
        "Urban",
        "Prime",
        "Delta",
        "Summit",
        "Harbor",
    ],
    dtype=object,
)
_NAME_B = np.array(
    [
        "wind",
        "peak",
        "field",
        "bridge",
        "works",
        "labs",
        "systems",
        "logic",
        "gate",
        "point",
        "line",
        "forge",
        "craft",
        "river",
        "wave",
        "data",
        "mark",
        "path",
        "base",
        "core",
    ],
    dtype=object,
)

# hash tags (one per purpose; any distinct integers)
_T_LEAD_N, _T_LEAD, _T_DIRECT_N, _T_DIRECT, _T_CHILD, _T_ROSTER = 11, 12, 13, 14, 15, 16
_T_MGR, _T_VP, _T_ACT, _T_TARGET, _T_SPEND, _T_FC = 17, 18, 19, 20, 21, 22

_C1 = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


# --------------------------------------------------------------------------------------
# Counter-based randomness: every value is a hash of (seed, row path, field)
# --------------------------------------------------------------------------------------
def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wraps modulo 2**64)."""
    x = np.asarray(x, dtype=np.uint64).copy()
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _key(base: np.ndarray | int, *parts: np.ndarray | int) -> np.ndarray:
    """A child key: ``base`` combined with each part in turn."""
    k = np.asarray(base, dtype=np.uint64)
    for p in parts:
        p = np.asarray(p).astype(np.int64).astype(np.uint64)
        k = _mix(k ^ _mix(p + np.uint64(_C1)))
    return k


def _u(keys: np.ndarray, field: int) -> np.ndarray:
    """Uniform (0, 1) per key for one named field."""
    h = _mix(keys ^ np.uint64((field * _C1) & _MASK))
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53


def _norm(keys: np.ndarray, field: int) -> np.ndarray:
    from scipy import special  # here: a run that only reads the sample never loads scipy

    return special.ndtri(_u(keys, field))


def _pick(keys: np.ndarray, field: int, p) -> np.ndarray:
    """Index drawn with probabilities ``p`` (one row of ``p`` per key when 2-D)."""
    u = _u(keys, field)
    p = np.asarray(p, dtype=float)
    if p.ndim == 1:
        c = np.cumsum(p) / p.sum()
        return np.minimum(np.searchsorted(c, u, side="right"), len(p) - 1)
    c = np.cumsum(p, axis=1)
    c = c / c[:, -1:]
    return np.minimum((u[:, None] >= c).sum(axis=1), p.shape[1] - 1)


# --------------------------------------------------------------------------------------
# Calendar helpers: days and months as integers since 1970
# --------------------------------------------------------------------------------------
def _mi(text: str) -> int:
    y, m = parse_month(text)
    return (y - 1970) * 12 + m - 1


def _month_start(mi) -> np.ndarray:
    return (
        np.asarray(mi, dtype="int64")
        .astype("datetime64[M]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )


def _month_of(day) -> np.ndarray:
    return (
        np.asarray(day, dtype="int64")
        .astype("datetime64[D]")
        .astype("datetime64[M]")
        .astype(np.int64)
    )


def _weekday(day) -> np.ndarray:
    """Monday = 0 (1970-01-01 was a Thursday)."""
    return (np.asarray(day) + 3) % 7


def _to_weekday(day: np.ndarray) -> np.ndarray:
    """Saturday -> Friday, Sunday -> Monday."""
    wd = _weekday(day)
    return day - (wd == 5) + (wd == 6)


def _iso(day: np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD`` text of day numbers (through a table of the days spanned: fast)."""
    d = np.asarray(day, dtype=np.int64)
    if d.size == 0:
        return np.array([], dtype=object)
    lo = int(d.min())
    table = np.datetime_as_string(np.arange(lo, int(d.max()) + 1).astype("datetime64[D]"))
    return table.astype(object)[d - lo]


def _add_months(day: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Same day of month ``months`` later (clipped to the month's last day)."""
    d = np.asarray(day, dtype=np.int64)
    mi = _month_of(d)
    dom = d - _month_start(mi)
    target = mi + np.asarray(months, dtype=np.int64)
    length = _month_start(target + 1) - _month_start(target)
    return _month_start(target) + np.minimum(dom, length - 1)


def _growth(region: np.ndarray, mi: np.ndarray) -> np.ndarray:
    return (1 + _GROWTH[region]) ** ((mi - _mi(SAMPLE_START)) / 12.0)


def _season(region: np.ndarray, mi: np.ndarray) -> np.ndarray:
    return 1 + _SEASON_AMP[region] * (_SEASON[mi % 12] - 1)


def _fx(region: np.ndarray) -> np.ndarray:
    """Local currency units per USD for each region index."""
    return np.array([PER_USD[REGION_CURRENCY[r]] for r in REGIONS])[region]


def _to_team(region: np.ndarray) -> np.ndarray:
    """Factor turning a local amount of each region into its team's currency."""
    team_per_usd = np.array([PER_USD[TEAM_CURRENCY[TEAMS[t]]] for t in _TEAM_OF])
    return (team_per_usd / _fx(np.arange(len(REGIONS))))[region]


def _round_money(x: np.ndarray, region: np.ndarray) -> np.ndarray:
    jp = np.asarray(region) == REGIONS.index("JP")
    return np.where(jp, np.round(x), np.round(x, 2))


def _rank(*sort_keys: np.ndarray) -> np.ndarray:
    """1-based rank of each row in ``sort_keys`` order (last key primary, as np.lexsort)."""
    n = len(sort_keys[0])
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort(sort_keys)] = np.arange(1, n + 1)
    return rank


def _id_digits(scale: float) -> int:
    """Extra ID digits for big samples: fixed by ``scale`` alone, so IDs never depend on
    ``end_month``, and wide enough for any history up to 2040."""
    return max(0, int(np.ceil(np.log10(max(scale, 1.0)))))


def _fmt_ids(prefix: str, width: int, rank: np.ndarray) -> np.ndarray:
    """``prefix`` + zero-padded rank (``O0000123``), ``width`` digits."""
    rank = np.asarray(rank, dtype=np.int64)
    if rank.size and rank.max() >= 10**width:
        raise RuntimeError(f"sample generator: {prefix} IDs overflow {width} digits (a bug)")
    text = (rank + 10**width).astype(str)
    return np.char.add(prefix, np.strings.slice(text, 1, None)).astype(object)


def _rank_ids(prefix: str, width: int, *sort_keys: np.ndarray) -> np.ndarray:
    """IDs numbered in ``sort_keys`` order (last key is the primary one, as np.lexsort)."""
    return _fmt_ids(prefix, width, _rank(*sort_keys))


# --------------------------------------------------------------------------------------
# Reps
# --------------------------------------------------------------------------------------
class _Roster:
    """Every rep ever employed up to the end of the generated span, and owner choice."""

    def __init__(self, seed: int, scale: float, last_mi: int):
        self.m0 = _mi(_BURN_IN_START)
        self.m1 = last_mi
        self.seed = seed
        self.scale = scale
        n_reg = len(REGIONS)
        region = np.arange(n_reg)
        # ---- AEs and SDRs: head count tracks the volume, departures are replaced ahead
        hire, leave, reg, role, key = [], [], [], [], []
        base = {"ae": _AE_0, "sdr": _SDR_0}

        def target(mi: int, r: str) -> np.ndarray:
            v = scale * base[r] * _WEIGHT * _growth(region, np.full(n_reg, mi))
            return np.maximum(1, np.round(v)).astype(int)

        tenure = {"ae": (120.0, 800.0), "sdr": (90.0, 480.0)}
        start0 = int(_month_start(self.m0))
        for r_i, r in enumerate(("ae", "sdr")):
            n0 = target(self.m0, r)
            rr = np.repeat(region, n0)
            k = _key(seed, _T_ROSTER, self.m0, r_i, rr, _within(n0))
            h = start0 - (_u(k, 1) * 3 * 365).astype(np.int64)
            lv = start0 + 60 + (-np.log(_u(k, 2)) * tenure[r][1]).astype(np.int64)
            hire.append(h), leave.append(lv), reg.append(rr), role.append(np.full(len(rr), r_i))
            key.append(k)
        hire_a, leave_a = np.concatenate(hire), np.concatenate(leave)
        reg_a, role_a = np.concatenate(reg), np.concatenate(role)
        for mi in range(self.m0, self.m1 + 1):
            nxt_start, nxt_end = int(_month_start(mi + 1)), int(_month_start(mi + 2)) - 1
            ok = (hire_a < nxt_start) & (leave_a >= nxt_end)
            new_h, new_l, new_r, new_role, new_k = [], [], [], [], []
            for r_i, r in enumerate(("ae", "sdr")):
                have = np.bincount(reg_a[ok & (role_a == r_i)], minlength=n_reg)
                need = np.maximum(0, target(mi + 1, r) - have)
                if need.sum() == 0:
                    continue
                rr = np.repeat(region, need)
                k = _key(seed, _T_ROSTER, mi, r_i, rr, _within(need))
                start = int(_month_start(mi))
                h = _to_weekday(start + (_u(k, 1) * 25).astype(np.int64))
                lv = h + int(tenure[r][0]) + (-np.log(_u(k, 2)) * tenure[r][1]).astype(np.int64)
                new_h.append(h), new_l.append(lv), new_r.append(rr)
                new_role.append(np.full(len(rr), r_i)), new_k.append(k)
            if new_h:
                hire_a = np.concatenate([hire_a, *new_h])
                leave_a = np.concatenate([leave_a, *new_l])
                reg_a = np.concatenate([reg_a, *new_r])
                role_a = np.concatenate([role_a, *new_role])
                key.extend(new_k)
        key_a = np.concatenate(key)
        roles = np.array(["ae", "sdr"], dtype=object)[role_a]
        # ---- managers: slots per region, each a chain of successive holders
        peak = scale * (_AE_0 + _SDR_0) * _WEIGHT * _growth(region, np.full(n_reg, _mi("2024-01")))
        n_slots = np.maximum(1, np.round(peak / _REPS_PER_MANAGER)).astype(int)
        slot_region = np.repeat(region, n_slots)
        slot_key = _key(seed, _T_MGR, slot_region, _within(n_slots))
        m_h, m_l, m_slot, m_k = [], [], [], []
        cur_h = start0 - 365 - (_u(slot_key, 1) * 4 * 365).astype(np.int64)
        gen = 0
        last_day = int(_month_start(self.m1 + 1)) - 1
        alive = np.ones(len(slot_key), dtype=bool)
        while alive.any():
            k = _key(slot_key, gen)
            lv = cur_h + 365 + (-np.log(_u(k, 2)) * 1500).astype(np.int64)
            idx = np.flatnonzero(alive)
            m_h.append(cur_h[idx]), m_l.append(lv[idx]), m_slot.append(idx), m_k.append(k[idx])
            cur_h = lv + 1
            alive &= cur_h <= last_day
            gen += 1
        mh, ml = np.concatenate(m_h), np.concatenate(m_l)
        mslot, mk = np.concatenate(m_slot), np.concatenate(m_k)
        # ---- VPs: one per team, in the team's first region, never leaving
        vp_region = np.array([REGIONS.index("DE"), REGIONS.index("US-East"), REGIONS.index("AU")])
        vp_key = _key(seed, _T_VP, np.arange(3))
        vp_hire = start0 - 400 - (_u(vp_key, 1) * 300).astype(np.int64)
        # ---- all together
        self.hire = np.concatenate([hire_a, mh, vp_hire])
        self.leave = np.concatenate([leave_a, ml, np.full(3, np.iinfo(np.int64).max // 4)])
        self.region = np.concatenate([reg_a, slot_region[mslot], vp_region])
        self.role = np.concatenate([roles, np.full(len(mh), "manager", object), ["vp"] * 3])
        self.role = self.role.astype(object)
        self.key = np.concatenate([key_a, mk, vp_key])
        self.has_leave = np.concatenate([np.ones(len(hire_a) + len(mh), bool), np.zeros(3, bool)])
        self.skill = np.exp(0.3 * _norm(self.key, 3))
        n = len(self.hire)
        self.slot = np.full(n, -1)
        n_ae_sdr = len(hire_a)
        # an AE/SDR belongs to one manager slot of its region
        first_slot = np.concatenate([[0], np.cumsum(n_slots)[:-1]])
        pick = (_u(key_a, 4) * n_slots[reg_a]).astype(int)
        self.slot[:n_ae_sdr] = first_slot[reg_a] + pick
        self.mgr_index = n_ae_sdr + np.arange(len(mh))
        self.mgr_slot, self.mgr_hire = mslot, mh
        self.vp_index = n_ae_sdr + len(mh) + np.arange(3)
        self.names = (
            _FIRST[(_u(self.key, 5) * len(_FIRST)).astype(int)]
            + " "
            + _LAST[(_u(self.key, 6) * len(_LAST)).astype(int)]
        )
        self._build_choice()

    # employed for a whole month: hired before it starts, not leaving before it ends
    def _build_choice(self) -> None:
        months = np.arange(self.m0, self.m1 + 1)
        self.n_months = len(months)
        starts = _month_start(months)
        ends = _month_start(months + 1) - 1
        self.elig = (self.hire[:, None] < starts[None, :]) & (self.leave[:, None] >= ends[None, :])
        tenure_m = months[None, :] - _month_of(self.hire)[:, None]
        self.ramp = np.clip(0.25 * tenure_m, 0.0, 1.0)  # 1st full month 0.25/0.5, ... 1.0 from 4th
        self.flat = {}
        for role in ("ae", "sdr"):
            mask = self.elig & (self.role == role)[:, None]
            rep, m = np.nonzero(mask)
            w = (0.25 + 0.75 * self.ramp[rep, m]) * self.skill[rep]
            grp = self.region[rep] * self.n_months + m
            order = np.lexsort((rep, grp))
            rep, grp, w = rep[order], grp[order], w[order]
            cs = np.cumsum(w)
            starts_g = np.searchsorted(grp, grp, side="left")
            before = np.where(starts_g > 0, cs[starts_g - 1], 0.0)
            totals = np.bincount(grp, weights=w, minlength=len(REGIONS) * self.n_months)
            frac = (cs - before) / totals[grp]
            self.flat[role] = (grp + np.minimum(frac, 1.0), rep, grp)

    def choose(self, role: str, region: np.ndarray, mi: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A rep of ``role`` employed all month ``mi`` in ``region`` (ramped, skill weighted).

        Returns -1 where ``mi`` lies outside the generated span.
        """
        out = np.full(len(region), -1, dtype=np.int64)
        inside = (mi >= self.m0) & (mi <= self.m1)
        if not inside.any():
            return out
        val, rep, grp = self.flat[role]
        g = region[inside] * self.n_months + (mi[inside] - self.m0)
        pos = np.searchsorted(val, g + u[inside], side="left")
        pos = np.minimum(pos, len(val) - 1)
        bad = grp[pos] != g
        if bad.any():
            raise RuntimeError(
                f"sample generator: no {role} employed in {int(bad.sum())} region-months; "
                "the roster keeps at least one per region (this is a bug)"
            )
        out[inside] = rep[pos]
        return out

    def employed(self, rep: np.ndarray, mi: np.ndarray) -> np.ndarray:
        inside = (mi >= self.m0) & (mi <= self.m1) & (rep >= 0)
        out = np.zeros(len(rep), dtype=bool)
        out[inside] = self.elig[rep[inside], mi[inside] - self.m0]
        return out

    def manager_at(self, rep: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Index of the manager holding the rep's slot on ``day``."""
        order = np.lexsort((self.mgr_hire, self.mgr_slot))
        sk = self.mgr_slot[order].astype(np.float64) * 1e6 + self.mgr_hire[order]
        q = self.slot[rep].astype(np.float64) * 1e6 + day
        pos = np.searchsorted(sk, q, side="right") - 1
        pos = np.maximum(pos, 0)
        # first holder of the slot when the day falls before its hire (never for real data)
        pos = np.where(self.mgr_slot[order][pos] != self.slot[rep], pos + 1, pos)
        return self.mgr_index[order[np.minimum(pos, len(order) - 1)]]


def _within(counts: np.ndarray) -> np.ndarray:
    """0..n-1 inside each of consecutive groups of the given sizes."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


# --------------------------------------------------------------------------------------
# Opportunities
# --------------------------------------------------------------------------------------
def _cat(parts: list[dict]) -> dict:
    parts = [p for p in parts if len(p["key"])]
    if not parts:
        return {}
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _take(d: dict, idx: np.ndarray) -> dict:
    return {k: v[idx] for k, v in d.items()}


def _deal_values(o: dict, roster: _Roster) -> dict:
    """Owner, outcome, dates and stages of opportunities whose base fields are set.

    Base fields: key, region, created, seg, src, type, product, cm, amount, account,
    parent_owner (-1 when none), lead (-1 when none).
    """
    k = o["key"]
    n = len(k)
    cmi = _month_of(o["created"])
    owner = roster.choose("ae", o["region"], cmi, _u(k, 30))
    keep = (o["parent_owner"] >= 0) & roster.employed(o["parent_owner"], cmi)
    owner = np.where(keep, o["parent_owner"], owner)
    ramp = np.ones(n)
    has = owner >= 0
    inside = has & (cmi >= roster.m0) & (cmi <= roster.m1)
    ramp[inside] = 0.5 + 0.5 * roster.ramp[owner[inside], cmi[inside] - roster.m0]
    is_ren = o["type"] == 2
    is_exp = o["type"] == 1
    p_win = _SEG_WIN[o["seg"]] * _SOURCE_WIN[o["src"]] * ramp
    p_win = np.where(is_exp, 0.5 * ramp, p_win)
    p_win = np.where(is_ren, _SEG_RENEW[o["seg"]], p_win)
    won = _u(k, 31) < p_win
    cycle = _SEG_CYCLE[o["seg"]] * np.exp(0.45 * _norm(k, 32))
    cycle = np.where(is_exp, 35.0 * np.exp(0.4 * _norm(k, 32)), cycle)
    cycle = np.where(won, cycle, cycle * (0.4 + 0.6 * _u(k, 33)))
    close = o["created"] + np.maximum(1, cycle).astype(np.int64)
    # renewals close on the contract end, some a little late
    late = np.where(_u(k, 34) < 0.2, (_u(k, 35) * 30).astype(np.int64), 0)
    close = np.where(is_ren, o["renew_day"] + late, close)
    # quarter-end pull for won deals closing in the 2nd or 3rd month of a quarter
    qmi = _month_of(close)
    q_end = _month_start(qmi - qmi % 3 + 3) - 1
    p_pull = np.where(qmi % 12 >= 9, 0.5, 0.4)  # the year-end push is the strongest
    pull = won & ~is_ren & (qmi % 3 > 0) & (_u(k, 36) < p_pull)
    pulled = q_end - (_u(k, 37) * 10).astype(np.int64)
    close = np.where(pull & (pulled > close), pulled, close)
    # slow August: some August closes slip into September; December after the 20th pulled back
    month = qmi % 12
    aug = (month == 7) & ~is_ren & (_u(k, 38) < 0.35)
    close = np.where(aug, close + 10 + (_u(k, 39) * 20).astype(np.int64), close)
    dec = _month_of(close) % 12 == 11
    dom = close - _month_start(_month_of(close))
    late_dec = dec & (dom >= 20) & ~is_ren & (_u(k, 40) < 0.7)
    close = np.where(
        late_dec, _month_start(_month_of(close)) + 12 + (_u(k, 41) * 7).astype(int), close
    )
    # year-end push: some January closes are pulled into mid-December
    cm_ = _month_of(close)
    p_jan = np.where(cm_ % 12 == 0, 0.55, np.where(cm_ % 12 == 1, 0.25, 0.0))
    jan = won & ~is_ren & (_u(k, 52) < p_jan)
    dec_day = _month_start(cm_ - cm_ % 12) - 21 + (_u(k, 53) * 10).astype(np.int64)
    close = np.where(jan & (dec_day > o["created"]), dec_day, close)
    close = np.maximum(_to_weekday(close), o["created"])
    # stages reached: won deals all five, lost ones stop somewhere
    lost_stop = _pick(k, 42, [0.30, 0.25, 0.20, 0.15, 0.10])
    lost_stop = np.where(is_ren, _pick(k, 42, [0.0, 0.1, 0.2, 0.3, 0.4]), lost_stop)
    top = np.where(won, 4, lost_stop)
    e = -np.log(np.column_stack([_u(k, 43 + i) for i in range(5)]))
    frac = np.cumsum(e, axis=1) / e.sum(axis=1, keepdims=True)  # 5 pieces, 4 cut points
    span = close - o["created"]
    stage_day = o["created"][:, None] + np.floor(
        np.column_stack([np.zeros(n), frac[:, :4]]) * span[:, None]
    ).astype(np.int64)
    stage_day = np.where(np.arange(5)[None, :] <= top[:, None], stage_day, -1)
    # year-end budgets: deals won in the fourth quarter are bigger
    q4 = won & ~is_ren & (_month_of(close) % 12 >= 9)
    amount = np.where(q4, _round_money(o["amount"] * 1.2, o["region"]), o["amount"])
    # when open at the end: the close date the rep expects
    slip = np.where(_u(k, 48) < 0.55, 0, 5 + (_u(k, 49) * 40).astype(np.int64))
    expected = np.maximum(close - slip, o["created"])
    o = dict(o)
    o.update(
        amount=amount,
        owner=owner,
        won=won,
        close=close,
        top=top,
        stage_day=stage_day,
        expected=expected,
        lost_reason=_pick(k, 50, [0.22, 0.22, 0.2, 0.14, 0.12, 0.1]),
    )
    return o


def _children(won: dict, gen: int) -> dict:
    """Renewals and expansions of won subscription deals."""
    sub = won["product"] != 2
    parents = _take(won, np.flatnonzero(sub))
    k = _key(parents["key"], _T_CHILD, gen)
    # renewals
    renew_day = _add_months(parents["close"], parents["cm"])
    created = renew_day - 45 - (_u(k, 1) * 45).astype(np.int64)
    keep_cm = _u(k, 2) < 0.8
    cm = np.where(keep_cm, parents["cm"], _CM[_pick(k, 3, _SEG_CM_P[parents["seg"]])])
    acv = parents["amount"] * 12.0 / parents["cm"]
    amount = acv * np.exp(0.04 + 0.08 * _norm(k, 4)) * cm / 12.0
    ren = dict(
        key=_key(k, 1),
        region=parents["region"],
        created=_to_weekday(created),
        seg=parents["seg"],
        src=parents["src"],
        type=np.full(len(k), 2),
        product=parents["product"],
        cm=cm,
        amount=_round_money(amount, parents["region"]),
        account=parents["account"],
        parent_owner=parents["owner"],
        lead=np.full(len(k), -1),
        renew_day=renew_day,
    )
    # expansions, from new business and renewals only
    can = (parents["type"] != 1) & (_u(k, 5) < 0.27)
    ex = _take(parents, np.flatnonzero(can))
    kx = _key(k[can], 2)
    room = np.maximum(90, ex["cm"] * 30 - 90)
    created_x = ex["close"] + 60 + (_u(kx, 1) * np.minimum(room, 300)).astype(np.int64)
    acv_x = ex["amount"] * 12.0 / ex["cm"]
    amount_x = acv_x * (0.15 + 0.35 * _u(kx, 2))
    exp = dict(
        key=kx,
        region=ex["region"],
        created=_to_weekday(created_x),
        seg=ex["seg"],
        src=ex["src"],
        type=np.full(len(kx), 1),
        product=1 - ex["product"],
        cm=np.full(len(kx), 12),
        amount=_round_money(amount_x, ex["region"]),
        account=ex["account"],
        parent_owner=ex["owner"],
        lead=np.full(len(kx), -1),
        renew_day=np.zeros(len(kx), dtype=np.int64),
    )
    return _cat([ren, exp])


def _new_deal_base(k: np.ndarray, region, created, seg, src, lead) -> dict:
    n = len(k)
    product = _pick(k, 20, [0.6, 0.25, 0.15])
    cm = _CM[_pick(k, 21, _SEG_CM_P[seg])]
    acv_usd = _SEG_ACV_USD[seg] * np.exp(0.5 * _norm(k, 22)) * _PRICE[region]
    tcv_usd = np.where(product == 2, 0.6 * acv_usd, acv_usd * cm / 12.0)
    cm = np.where(product == 2, 12, cm)
    local = tcv_usd * _fx(region)
    step = np.where(np.array(REGIONS, dtype=object)[region] == "JP", 1000.0, 10.0)
    amount = np.maximum(step, np.round(local / step) * step)
    return dict(
        key=k,
        region=region,
        created=created,
        seg=seg,
        src=src,
        type=np.zeros(n, dtype=np.int64),
        product=product,
        cm=cm,
        amount=amount,
        account=_key(k, 99),
        parent_owner=np.full(n, -1),
        lead=lead,
        renew_day=np.zeros(n, dtype=np.int64),
    )


# --------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------
def _counts(seed: int, tag: int, rate0: float, scale: float, months: np.ndarray) -> tuple:
    """Poisson count per (region, month): rows of region and month index, and their keys."""
    from scipy import stats  # here: a run that only reads the sample never loads scipy

    n_reg = len(REGIONS)
    reg = np.repeat(np.arange(n_reg), len(months))
    mi = np.tile(months, n_reg)
    lam = scale * rate0 * _WEIGHT[reg] * _growth(reg, mi) * _season(reg, mi)
    n = stats.poisson.ppf(_u(_key(seed, tag, reg, mi), 1), lam).astype(np.int64)
    region = np.repeat(reg, n)
    month = np.repeat(mi, n)
    key = _key(seed, tag + 100, region, month, _within(n))
    return region, month, key


def _random_day_in_month(month: np.ndarray, u: np.ndarray) -> np.ndarray:
    start = _month_start(month)
    length = _month_start(month + 1) - start
    return _to_weekday(start + (u * length).astype(np.int64))


def generate_sample(
    end_month: str, seed: int = _DEFAULT_SEED, scale: float = 1.0
) -> dict[str, pd.DataFrame]:
    """The sample organisation's raw tables, as the files hold them.

    Parameters
    ----------
    end_month : str
        Last month of the sample (``YYYY-MM``), on or after ``SAMPLE_START``.
        Rows are dated on or before its last day.
    seed : int
        The organisation: another seed gives another (equally realistic) company.
    scale : float
        Multiplies leads, opportunities and head count (so activities and orders).

    Returns
    -------
    dict[str, pandas.DataFrame]
        One frame per contract table (``salesreport.tables.TABLE_NAMES``), with the
        contract's column names; dates as ``YYYY-MM-DD`` text, activity timestamps
        as ISO 8601 text with an offset (or ``Z``), ``opportunities.amount`` as text
        with two decimals (a few with a thousands separator, see the module notes),
        other amounts as numbers. See the module docstring for what is generated and
        which dirt is injected.
    """
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    end_mi = _mi(end_month)
    if end_mi < _mi(SAMPLE_START):
        raise ValueError(f"end_month {end_month} is before the sample starts ({SAMPLE_START})")
    seed = int(seed)
    last_mi = end_mi + 1  # one extra month: the revenue that forecast submissions aim at
    end_day = int(_month_start(end_mi + 1)) - 1
    cut_day = int(_month_start(last_mi + 1)) - 1
    start_day = int(_month_start(_mi(SAMPLE_START)))
    roster = _Roster(seed, scale, last_mi)
    months = np.arange(_mi(_BURN_IN_START), last_mi + 1)

    # ---- leads
    l_reg, l_mi, l_key = _counts(seed, _T_LEAD_N, _LEADS_0, scale, months)
    l_created = _random_day_in_month(l_mi, _u(l_key, 1))
    l_src = _pick(l_key, 2, _LEAD_SOURCE_P)
    seg_p = np.where((l_src == 2)[:, None], [[0.35, 0.40, 0.25]], [[0.60, 0.30, 0.10]])
    l_seg = _pick(l_key, 3, seg_p)
    l_owner = roster.choose("sdr", l_reg, _month_of(l_created), _u(l_key, 4))
    conv_p = _CONVERT_P[l_src] * np.array([1.0, 0.9, 0.8])[l_seg]
    l_conv = _u(l_key, 5) < conv_p
    l_conv_day = _to_weekday(
        l_created + 3 + (-np.log(_u(l_key, 6)) * 10).clip(0, 37).astype(np.int64)
    )
    l_conv_day = np.maximum(l_conv_day, l_created)
    l_decide_day = l_created + 20 + (_u(l_key, 7) * 40).astype(np.int64)
    l_nurture = _u(l_key, 8) < 0.4

    # ---- gen 0 opportunities: converted leads and AE-sourced deals
    ci = np.flatnonzero(l_conv & (l_conv_day <= cut_day))
    from_leads = _new_deal_base(
        _key(l_key[ci], 1), l_reg[ci], l_conv_day[ci], l_seg[ci], l_src[ci], ci
    )
    d_reg, d_mi, d_key = _counts(seed, _T_DIRECT_N, _DIRECT_0, scale, months)
    d_src = _pick(d_key, 2, _DIRECT_SOURCE_P)
    d_seg = _pick(d_key, 3, [0.40, 0.38, 0.22])
    direct = _new_deal_base(
        d_key,
        d_reg,
        _random_day_in_month(d_mi, _u(d_key, 1)),
        d_seg,
        d_src,
        np.full(len(d_key), -1),
    )
    gen = _deal_values(_cat([from_leads, direct]), roster)
    all_opps = [gen]
    g = 0
    while True:
        w = gen["won"] & (gen["close"] <= cut_day) & (gen["owner"] >= 0)
        kids = _children(_take(gen, np.flatnonzero(w)), g)
        if not kids:
            break
        kids = _take(kids, np.flatnonzero(kids["created"] <= cut_day))
        if len(kids["key"]) == 0:
            break
        gen = _deal_values(kids, roster)
        all_opps.append(gen)
        g += 1
    opp = _cat(all_opps)
    opp = _take(opp, np.flatnonzero(opp["created"] <= cut_day))
    # reassign deals whose owner left before the close (visible departures only)
    owner0 = opp["owner"].copy()
    owner = owner0.copy()
    for level in range(4):
        lv = roster.leave[owner]
        need = (lv < opp["close"]) & (lv <= cut_day)
        if not need.any():
            break
        new = roster.choose(
            "ae", opp["region"][need], _month_of(lv[need]) + 1, _u(opp["key"][need], 60 + level)
        )
        owner[need] = np.where(new >= 0, new, owner[need])
    opp["owner"] = owner
    opp["owner0"] = owner0
    opp["rank"] = _rank(opp["key"], opp["created"])
    extra = _id_digits(scale)
    opp["id"] = _fmt_ids("O", 7 + extra, opp["rank"])

    # ---- accounts: one per new-business opportunity (prospects included)
    nb = opp["type"] == 0
    acc_key = opp["account"][nb]
    acc = dict(
        key=acc_key,
        created=opp["created"][nb],
        region=opp["region"][nb],
        seg=opp["seg"][nb],
    )
    acc_id = _rank_ids("A", 6 + extra, acc["key"], acc["created"])
    acc_lookup = pd.Series(acc_id, index=acc_key.astype(np.uint64))
    opp["account_id"] = acc_lookup.reindex(opp["account"].astype(np.uint64)).to_numpy()

    # ---- orders: invoices of won deals
    won_i = np.flatnonzero(opp["won"])
    w = _take(opp, won_i)
    monthly = (w["product"] != 2) & (_u(w["key"], 70) < _SEG_MONTHLY_BILLING[w["seg"]])
    n_inv = np.where(w["product"] == 2, 1, np.where(monthly, w["cm"], w["cm"] // 12))
    step = np.where(monthly, 1, 12)
    row = np.repeat(np.arange(len(won_i)), n_inv)
    j = _within(n_inv)
    o_day = _add_months(w["close"][row], j * step[row])
    per = w["amount"][row] / n_inv[row]
    per = _round_money(per, w["region"][row])
    last = j == n_inv[row] - 1
    paid_before = per * (n_inv[row] - 1)
    o_amount = np.where(last, _round_money(w["amount"][row] - paid_before, w["region"][row]), per)
    o_key = _key(w["key"][row], 71, j)
    src = w["src"][row]
    channel = np.where(
        src == 4, "partner", np.where((src == 0) & (w["seg"][row] == 0), "online", "direct")
    ).astype(object)
    orders = dict(
        key=o_key,
        day=o_day,
        account_id=w["account_id"][row],
        amount=o_amount,
        region=w["region"][row],
        product=w["product"][row],
        seg=w["seg"][row],
        channel=channel,
    )

    # ---- activities
    acts = _activities(opp, roster, l_key, l_created, l_owner, l_conv, l_conv_day, l_reg, cut_day)

    tables_internal = dict(
        opp=opp,
        orders=orders,
        acts=acts,
        leads=dict(
            key=l_key,
            created=l_created,
            src=l_src,
            seg=l_seg,
            owner=l_owner,
            region=l_reg,
            conv=l_conv,
            conv_day=l_conv_day,
            decide_day=l_decide_day,
            nurture=l_nurture,
        ),
        accounts=dict(acc, id=acc_id),
    )
    return _assemble(tables_internal, roster, seed, end_mi, end_day, start_day)


def _activities(opp, roster, l_key, l_created, l_owner, l_conv, l_conv_day, l_reg, cut_day) -> dict:
    """SDR touches on leads, meetings booked, AE meetings, proposals, calls and emails."""
    act_start = int(_month_start(_mi(_ACTIVITY_START)))
    parts = []
    # SDR touches: 1-5 per lead within two weeks of creation (before conversion)
    li = np.flatnonzero((l_created >= act_start - 30) & (l_owner >= 0))
    k = l_key[li]
    n = 1 + np.minimum(4, (-np.log(_u(k, 80)) * 0.9).astype(np.int64))
    row = np.repeat(li, n)
    j = _within(n)
    ak = _key(l_key[row], _T_ACT, j)
    span = np.where(l_conv[row], np.maximum(1, l_conv_day[row] - l_created[row]), 14)
    day = _to_weekday(l_created[row] + (_u(ak, 1) * span).astype(np.int64))
    typ = _pick(ak, 2, [0.42, 0.33, 0.25, 0.0, 0.0])  # call, email, linkedin
    typ = np.array([0, 1, 3])[np.minimum(typ, 2)]
    parts.append(
        dict(key=ak, day=day, type=typ, rep=l_owner[row], lead=row, opp=np.full(len(row), -1))
    )
    # meeting booked by the SDR on conversion
    ci = li[l_conv[li]]
    ak = _key(l_key[ci], _T_ACT, 99)
    parts.append(
        dict(
            key=ak,
            day=l_conv_day[ci],
            type=np.full(len(ci), 2),
            rep=l_owner[ci],
            lead=ci,
            opp=np.full(len(ci), -2),  # filled below from the lead
        )
    )
    # AE: meetings on entering Qualification and Discovery, a proposal on Proposal
    oi = np.flatnonzero(opp["created"] >= act_start - 120)
    for stage, typ_code in ((1, 2), (2, 2), (3, 4)):
        sel = oi[opp["stage_day"][oi, stage] >= 0]
        sel = sel[(opp["type"][sel] != 2) | (stage == 3)]
        ak = _key(opp["key"][sel], _T_ACT, 200 + stage)
        parts.append(
            dict(
                key=ak,
                day=_to_weekday(opp["stage_day"][sel, stage]),
                type=np.full(len(sel), typ_code),
                rep=np.full(len(sel), -3),
                lead=np.full(len(sel), -1),
                opp=sel,
            )
        )
    # AE calls and emails over the life of the deal
    k = opp["key"][oi]
    n = (-np.log(_u(k, 81)) * 1.3).astype(np.int64)
    row = np.repeat(oi, n)
    j = _within(n)
    ak = _key(opp["key"][row], _T_ACT, 300 + j)
    life = np.maximum(1, opp["close"][row] - opp["created"][row])
    day = _to_weekday(opp["created"][row] + (_u(ak, 1) * life).astype(np.int64))
    typ = np.where(_u(ak, 2) < 0.55, 0, 1)
    parts.append(
        dict(
            key=ak,
            day=day,
            type=typ,
            rep=np.full(len(row), -3),
            lead=np.full(len(row), -1),
            opp=row,
        )
    )
    a = _cat(parts)
    a = _take(a, np.flatnonzero((a["day"] <= cut_day) & (a["day"] >= act_start)))
    # AE activities: the owner of the deal at the time
    ae = a["rep"] == -3
    oi = a["opp"][ae]
    first = opp["owner0"][oi]
    a["rep"][ae] = np.where(a["day"][ae] <= roster.leave[first], first, opp["owner"][oi])
    a["region"] = np.where(a["opp"] >= 0, opp["region"][np.maximum(a["opp"], 0)], 0)
    a["region"] = np.where(a["lead"] >= 0, l_reg[np.maximum(a["lead"], 0)], a["region"])
    return a


def _assemble(
    t: dict, roster: _Roster, seed: int, end_mi: int, end_day: int, start_day: int
) -> dict:
    """Cut everything at the end of ``end_month``, add the dirt, build the frames."""
    regions = np.array(REGIONS, dtype=object)
    currency = np.array([REGION_CURRENCY[r] for r in REGIONS], dtype=object)
    opp, leads, acts = t["opp"], t["leads"], t["acts"]
    out: dict[str, pd.DataFrame] = {}

    # ---- reps
    rep_ok = (roster.hire <= end_day) & (~roster.has_leave | (roster.leave >= start_day))
    extra = _id_digits(roster.scale)
    rep_id_all = _rank_ids("R", 4 + extra, roster.key, roster.hire)
    left = roster.has_leave & (roster.leave <= end_day)
    ri = np.flatnonzero(rep_ok)
    mgr_day = np.where(left, roster.leave, end_day)
    manager = np.full(len(roster.hire), None, dtype=object)
    staff = np.flatnonzero(np.isin(roster.role, ["ae", "sdr"]))
    manager[staff] = rep_id_all[roster.manager_at(staff, mgr_day[staff])]
    mgrs = np.flatnonzero(roster.role == "manager")
    manager[mgrs] = rep_id_all[roster.vp_index[_TEAM_OF[roster.region[mgrs]]]]
    reps = pd.DataFrame(
        {
            "rep_id": rep_id_all[ri],
            "name": roster.names[ri],
            "role": roster.role[ri],
            "region": regions[roster.region[ri]],
            "hire_date": _iso(roster.hire[ri]),
            "manager_id": manager[ri],
            "leave_date": np.where(left[ri], _iso(np.where(left, roster.leave, 0)[ri]), None),
        }
    )
    out_reps = reps.sort_values("rep_id", kind="stable").reset_index(drop=True)

    # ---- opportunities (written when created by the end and closing on/after the start)
    vis = (opp["created"] <= end_day) & (opp["close"] >= start_day)
    oi = np.flatnonzero(vis)
    o = _take(opp, oi)
    closed = o["close"] <= end_day
    # stage reached at the end of end_month (open deals)
    reached = (o["stage_day"] >= 0) & (o["stage_day"] <= end_day)
    cur = reached.sum(axis=1) - 1
    cur = np.maximum(cur, 0)
    stage = np.where(
        closed,
        np.where(o["won"], "Closed Won", "Closed Lost"),
        np.array(STAGES, dtype=object)[cur],
    ).astype(object)
    status = np.where(closed, np.where(o["won"], "won", "lost"), "open").astype(object)
    prob = np.where(closed, np.where(o["won"], 1.0, 0.0), STAGE_PROBABILITY[cur])
    fcat = np.where(closed, np.where(o["won"], "closed", "omitted"), STAGE_FORECAST[cur]).astype(
        object
    )
    expected = o["expected"].copy()
    pushed = expected <= end_day
    expected = np.where(pushed, end_day + 1 + (_u(o["key"], 51) * 30).astype(np.int64), expected)
    close_day = np.where(closed, o["close"], expected)
    lost_reason = np.where(closed & ~o["won"], LOST_REASONS[o["lost_reason"]], None).astype(object)
    # dirt
    du = _u(o["key"], 90)
    d_before = closed & (du < 0.0015)
    close_day = np.where(
        d_before, o["created"] - 1 - (_u(o["key"], 91) * 20).astype(np.int64), close_day
    )
    d_won = closed & o["won"] & (du >= 0.0015) & (du < 0.0045)
    status = np.where(d_won, "Won ", status).astype(object)
    source = SOURCES[o["src"]].copy()
    d_blank = (du >= 0.0045) & (du < 0.0075)
    source[d_blank] = "  "
    amount_txt = np.char.mod("%.2f", o["amount"]).astype(object)
    d_sep = (du >= 0.0075) & (du < 0.0105) & (o["amount"] >= 1000)
    amount_txt[d_sep] = [f"{x:,.2f}" for x in o["amount"][d_sep]]
    opps = pd.DataFrame(
        {
            "opportunity_id": o["id"],
            "account_id": o["account_id"],
            "owner_id": rep_id_all[o["owner"]],
            "created_date": _iso(o["created"]),
            "close_date": _iso(close_day),
            "stage": stage,
            "status": status,
            "amount": amount_txt,
            "region": regions[o["region"]],
            "currency": currency[o["region"]],
            "probability": prob,
            "forecast_category": fcat,
            "type": TYPES[o["type"]],
            "source": source,
            "segment": SEGMENTS[o["seg"]],
            "product": PRODUCTS[o["product"]],
            "contract_months": pd.array(o["cm"], dtype="Int64"),
            "lost_reason": lost_reason,
        }
    )
    order = np.argsort(o["id"], kind="stable")
    dup = _u(o["key"], 92) < 0.0015
    rows = np.repeat(order, np.where(dup[order], 2, 1))
    out_opps = opps.iloc[rows].reset_index(drop=True)

    # ---- stage history of the written opportunities, cut at the end
    sd = o["stage_day"]
    r_, s_ = np.nonzero((sd >= 0) & (sd <= end_day))
    hist_id = np.concatenate([o["id"][r_], o["id"][closed]])
    hist_stage = np.concatenate(
        [
            np.array(STAGES, dtype=object)[s_],
            np.where(o["won"][closed], "Closed Won", "Closed Lost").astype(object),
        ]
    )
    hist_day = np.concatenate([sd[r_, s_], o["close"][closed]])
    hist_rank = np.concatenate([s_, np.full(int(closed.sum()), 5)])
    hist_opp = np.concatenate([o["rank"][r_], o["rank"][closed]])
    ho = np.lexsort((hist_rank, hist_opp))
    out_hist = pd.DataFrame(
        {"opportunity_id": hist_id[ho], "stage": hist_stage[ho], "entered_date": _iso(hist_day[ho])}
    )

    # ---- leads created from the start to the end
    li = np.flatnonzero((leads["created"] >= start_day) & (leads["created"] <= end_day))
    lk = leads["key"][li]
    conv_vis = leads["conv"][li] & (leads["conv_day"][li] <= end_day)
    decided = ~leads["conv"][li] & (leads["decide_day"][li] <= end_day)
    status_l = np.where(
        conv_vis,
        "converted",
        np.where(
            decided,
            np.where(leads["nurture"][li], "nurture", "disqualified"),
            np.where(leads["created"][li] + 5 <= end_day, "working", "new"),
        ),
    ).astype(object)
    opp_of_lead = pd.Series(opp["id"][opp["lead"] >= 0], index=opp["lead"][opp["lead"] >= 0])
    lead_opp = np.where(conv_vis, opp_of_lead.reindex(li).to_numpy(), None).astype(object)
    lead_rank = _rank(leads["key"], leads["created"])
    seg_l = SEGMENTS[leads["seg"][li]].copy()
    seg_l[_u(lk, 90) < 0.003] = "  "
    out_leads = pd.DataFrame(
        {
            "lead_id": _fmt_ids("L", 7 + extra, lead_rank[li]),
            "created_date": _iso(leads["created"][li]),
            "source": SOURCES[leads["src"][li]],
            "status": status_l,
            "owner_id": rep_id_all[leads["owner"][li]],
            "region": regions[leads["region"][li]],
            "converted_date": np.where(conv_vis, _iso(leads["conv_day"][li]), None).astype(object),
            "opportunity_id": lead_opp,
            "segment": seg_l,
        }
    )
    out_leads = out_leads.iloc[np.argsort(lead_rank[li], kind="stable")].reset_index(drop=True)

    # ---- activities
    ai = np.flatnonzero((acts["day"] >= start_day) & (acts["day"] <= end_day))
    a = _take(acts, ai)
    # meeting booked on conversion: the lead's opportunity
    booked = a["opp"] == -2
    lead_to_opp_idx = pd.Series(
        np.flatnonzero(opp["lead"] >= 0), index=opp["lead"][opp["lead"] >= 0]
    )
    a["opp"][booked] = lead_to_opp_idx.reindex(a["lead"][booked]).to_numpy()
    ts_local, ts_text = _timestamps(a, end_day)
    type_names = np.array(["call", "email", "meeting", "linkedin", "proposal"], dtype=object)
    outcome_sets = {
        0: np.array(["connected", "no answer", "voicemail"], dtype=object),
        1: np.array(["sent", "replied"], dtype=object),
        2: np.array(["held", "held", "no show"], dtype=object),
        3: np.array(["sent", "accepted"], dtype=object),
        4: np.array(["sent"], dtype=object),
    }
    outcome = np.empty(len(ai), dtype=object)
    ou = _u(a["key"], 5)
    for code, opts in outcome_sets.items():
        m = a["type"] == code
        outcome[m] = opts[(ou[m] * len(opts)).astype(int)]
    outcome[(a["type"] == 2) & (a["lead"] >= 0)] = "booked"
    du = _u(a["key"], 90)
    outcome[(du >= 0.002) & (du < 0.005)] = "  "
    act_rank = _rank(a["key"], ts_local)
    act_ids = _fmt_ids("X", 8 + extra, act_rank)
    rep_col = rep_id_all[a["rep"]].copy()
    ghost = du < 0.002
    ghost_digits = 4 + extra  # "R9" + that many digits: longer than any real rep ID
    rep_col[ghost] = np.char.add(
        "R9",
        np.char.zfill((_u(a["key"][ghost], 6) * 9999).astype(int).astype(str), ghost_digits),
    ).astype(object)
    has_opp = a["opp"] >= 0
    act_opp = np.where(has_opp, opp["id"][np.maximum(a["opp"], 0)], None).astype(object)
    act_acc = np.where(has_opp, opp["account_id"][np.maximum(a["opp"], 0)], None).astype(object)
    act_lead = np.full(len(ai), None, dtype=object)
    # a lead created before the sample starts is not written: its touches keep no lead_id
    has_lead = a["lead"] >= 0
    has_lead[has_lead] = leads["created"][a["lead"][has_lead]] >= start_day
    act_lead[has_lead] = _fmt_ids("L", 7 + extra, lead_rank[a["lead"][has_lead]])
    out_acts = pd.DataFrame(
        {
            "activity_id": act_ids,
            "rep_id": rep_col,
            "timestamp": ts_text,
            "type": type_names[a["type"]],
            "outcome": outcome,
            "opportunity_id": act_opp,
            "lead_id": act_lead,
            "account_id": act_acc,
        }
    )
    out_acts = out_acts.iloc[np.argsort(act_rank, kind="stable")].reset_index(drop=True)

    # ---- orders
    od = t["orders"]
    oo = np.flatnonzero((od["day"] >= start_day) & (od["day"] <= end_day))
    amount = od["amount"][oo].copy()
    neg = _u(od["key"][oo], 90) < 0.001
    amount[neg] = -amount[neg]
    order_rank = _rank(od["key"], od["day"])
    out_orders = pd.DataFrame(
        {
            "order_id": _fmt_ids("S", 7 + extra, order_rank[oo]),
            "account_id": od["account_id"][oo],
            "order_date": _iso(od["day"][oo]),
            "amount": amount,
            "region": regions[od["region"][oo]],
            "currency": currency[od["region"][oo]],
            "product": PRODUCTS[od["product"][oo]],
            "channel": od["channel"][oo],
            "segment": SEGMENTS[od["seg"][oo]],
        }
    )
    out_orders = out_orders.iloc[np.argsort(order_rank[oo], kind="stable")].reset_index(drop=True)

    # ---- accounts that a written opportunity or order refers to
    acc = t["accounts"]
    used = np.union1d(out_opps["account_id"].to_numpy(str), out_orders["account_id"].to_numpy(str))
    ac = np.flatnonzero((acc["created"] <= end_day) & np.isin(acc["id"].astype(str), used))
    ak = acc["key"][ac]
    reg = acc["region"][ac]
    name = (
        _NAME_A[(_u(ak, 1) * len(_NAME_A)).astype(int)]
        + _NAME_B[(_u(ak, 2) * len(_NAME_B)).astype(int)]
        + " "
        + np.array(_LEGAL, dtype=object)[reg]
    )
    industry = INDUSTRIES[(_u(ak, 3) * len(INDUSTRIES)).astype(int)].copy()
    industry[_u(ak, 90) < 0.005] = "  "
    out_accounts = (
        pd.DataFrame(
            {
                "account_id": acc["id"][ac],
                "name": name,
                "segment": SEGMENTS[acc["seg"][ac]],
                "industry": industry,
                "country": np.array(_COUNTRY, dtype=object)[reg],
                "region": regions[reg],
            }
        )
        .sort_values("account_id", kind="stable")
        .reset_index(drop=True)
    )

    # ---- targets, spend, forecast submissions (team currency)
    monthly = _monthly_actuals(t, roster, end_mi)
    out_targets = _targets(monthly, roster, rep_id_all, seed, end_mi)
    out_spend = _spend(t, roster, seed, end_mi)
    out_fc = _submissions(monthly, seed, end_mi)

    out = {
        "opportunities": out_opps,
        "stage_history": out_hist,
        "leads": out_leads,
        "activities": out_acts,
        "orders": out_orders,
        "accounts": out_accounts,
        "reps": out_reps,
        "targets": out_targets,
        "spend": out_spend,
        "forecast_submissions": out_fc,
    }
    assert tuple(out) == TABLE_NAMES
    return out


def _timestamps(a: dict, end_day: int) -> tuple[np.ndarray, np.ndarray]:
    """Local business-hours times as ISO 8601 text with the region's UTC offset
    (``2026-10-14T09:12:00+02:00``); emails, logged by a mail sync, in UTC (``...Z``).

    Returns the UTC minute numbers (for ordering) and the text.
    """
    minutes = 8 * 60 + (_u(a["key"], 4) * 600).astype(np.int64)
    local = a["day"].astype("datetime64[D]").astype("datetime64[m]") + minutes.astype(
        "timedelta64[m]"
    )
    off = np.zeros(len(local), dtype=np.int64)
    for r, tz in enumerate(_TZ):
        m = a["region"] == r
        if not m.any():
            continue
        loc = pd.DatetimeIndex(local[m])
        utc = loc.tz_localize(tz, nonexistent="shift_forward", ambiguous="NaT").tz_convert(None)
        off[m] = ((loc - utc) // pd.Timedelta(minutes=1)).to_numpy()
    utc_min = local.astype(np.int64) - off
    email = a["type"] == 1
    shown = np.where(email, utc_min, local.astype(np.int64)).astype("datetime64[m]")
    uniq, inv = np.unique(np.where(email, 10**6, off), return_inverse=True)
    suffix = np.array(
        [
            "Z" if v == 10**6 else f"{'-' if v < 0 else '+'}{abs(v) // 60:02d}:{abs(v) % 60:02d}"
            for v in uniq.tolist()
        ]
    )
    text = np.char.add(np.datetime_as_string(shown, unit="s"), suffix[inv])
    return utc_min, text.astype(object)


def _monthly_actuals(t: dict, roster: _Roster, end_mi: int) -> pd.DataFrame:
    """Per region and month, in the team currency: revenue, won amount, deals won, pipeline
    created, meetings, leads (all generated rows, burn-in included, up to end_month + 1)."""
    opp, od, acts, leads = t["opp"], t["orders"], t["acts"], t["leads"]
    n_reg = len(REGIONS)
    m0 = _mi(_BURN_IN_START)
    n_m = end_mi + 2 - m0
    to_team = _to_team(np.arange(n_reg))

    def agg(region, day, weights=None):
        mi = _month_of(day) - m0
        ok = (mi >= 0) & (mi < n_m)
        idx = region[ok] * n_m + mi[ok]
        w = None if weights is None else weights[ok]
        return np.bincount(idx, weights=w, minlength=n_reg * n_m).reshape(n_reg, n_m)

    won = opp["won"]
    frame = {
        "revenue": agg(od["region"], od["day"], od["amount"] * to_team[od["region"]]),
        "won_amount": agg(
            opp["region"][won], opp["close"][won], (opp["amount"] * to_team[opp["region"]])[won]
        ),
        "deals_won": agg(opp["region"][won], opp["close"][won]),
        "pipeline_created_value": agg(
            opp["region"], opp["created"], opp["amount"] * to_team[opp["region"]]
        ),
        "meetings": agg(acts["region"][acts["type"] == 2], acts["day"][acts["type"] == 2]),
        "leads": agg(leads["region"], leads["created"]),
    }
    idx = pd.MultiIndex.from_product([range(n_reg), range(m0, m0 + n_m)], names=["region", "mi"])
    return pd.DataFrame({k: v.ravel() for k, v in frame.items()}, index=idx)


def _plan(series: pd.DataFrame, metric: str, year: int, region: int, seed: int) -> np.ndarray:
    """Monthly plan of ``metric`` for calendar ``year`` in ``region`` (12 values).

    The trailing 12 months to October of the year before, grown by the region's
    growth plus a little ambition (hashed per region and year), over 15 months;
    spread over the months half by last year's profile, half evenly.
    """
    last = (year - 1 - 1970) * 12 + 9  # October of the year before
    window = series.loc[region].loc[last - 11 : last, metric].to_numpy()
    total = window.sum()
    k = _key(seed, _T_TARGET, region, year)
    ambition = 0.03 + 0.03 * float(_norm(k, 1))
    annual = total * (1 + _GROWTH[region] + ambition) ** (15 / 12)
    # window covers Nov..Oct; reorder to Jan..Dec
    by_month = np.roll(window, -2)  # Nov, Dec, Jan.. -> Jan..Dec
    share = 0.5 * by_month / max(total, 1e-9) + 0.5 / 12
    return annual * share


def _targets(
    monthly: pd.DataFrame, roster: _Roster, rep_id_all, seed: int, end_mi: int
) -> pd.DataFrame:
    regions = np.array(REGIONS, dtype=object)
    first_year = int(SAMPLE_START[:4])
    end_year = 1970 + end_mi // 12
    rows = []
    ae_won_plan = {}
    for year in range(first_year, end_year + 1):
        for r in range(len(REGIONS)):
            for metric in ("revenue", "deals_won", "pipeline_created_value", "meetings"):
                v = _plan(monthly, metric, year, r, seed)
                v = np.round(v) if metric in ("deals_won", "meetings") else np.round(v, -2)
                for mo in range(12):
                    rows.append(
                        (f"{year:04d}-{mo + 1:02d}", metric, float(v[mo]), None, regions[r])
                    )
            ae_won_plan[(year, r)] = _plan(monthly, "won_amount", year, r, seed)
    region_t = pd.DataFrame(rows, columns=["period", "metric", "value", "rep_id", "region"])
    # per-AE monthly quota of won amount, for months the AE is employed up to end_month
    ae = np.flatnonzero(roster.role == "ae")
    mis = np.arange(_mi(SAMPLE_START), end_mi + 1)
    starts, ends = _month_start(mis), _month_start(mis + 1) - 1
    emp = (roster.hire[ae, None] <= ends[None, :]) & (roster.leave[ae, None] >= starts[None, :])
    a_i, m_i = np.nonzero(emp)
    rep, mi = ae[a_i], mis[m_i]
    reg = roster.region[rep]
    year = 1970 + mi // 12
    plan_arr = np.array(
        [
            [ae_won_plan[(y, r)] for r in range(len(REGIONS))]
            for y in range(first_year, end_year + 1)
        ]
    )  # year, region, month
    plan = plan_arr[year - first_year, reg, mi % 12]
    base = _AE_0 * _WEIGHT[reg] * _growth(reg, mi)
    heads = np.maximum(1.0, np.round(base * roster.scale))
    tenure = mi - _month_of(roster.hire[rep])
    ramp = np.clip(0.25 * (tenure + 1), 0.25, 1.0)
    quota = np.round(plan / heads * ramp, -2)
    ae_t = pd.DataFrame(
        {
            "period": [f"{1970 + m // 12:04d}-{m % 12 + 1:02d}" for m in mi.tolist()],
            "metric": "revenue",
            "value": quota,
            "rep_id": rep_id_all[rep],
            "region": regions[reg],
        }
    )
    out = pd.concat([region_t, ae_t], ignore_index=True)
    return out.sort_values(
        ["period", "region", "metric", "rep_id"], kind="stable", na_position="first"
    ).reset_index(drop=True)


def _spend(t: dict, roster: _Roster, seed: int, end_mi: int) -> pd.DataFrame:
    """Sales spend (loaded cost of reps employed in the month) and marketing (per lead)."""
    regions = np.array(REGIONS, dtype=object)
    mis = np.arange(_mi(SAMPLE_START), end_mi + 1)
    starts, ends = _month_start(mis), _month_start(mis + 1) - 1
    emp = (roster.hire[:, None] <= ends[None, :]) & (roster.leave[:, None] >= starts[None, :])
    cost = np.array([_COST_USD.get(r, 20000.0) for r in roster.role])
    n_reg = len(REGIONS)
    team_per_usd = np.array([PER_USD[TEAM_CURRENCY[TEAMS[t_]]] for t_ in _TEAM_OF])
    r_i, m_i = np.nonzero(emp)
    sales = np.bincount(
        roster.region[r_i] * len(mis) + m_i, weights=cost[r_i], minlength=n_reg * len(mis)
    ).reshape(n_reg, len(mis))
    leads = t["leads"]
    lm = _month_of(leads["created"]) - mis[0]
    ok = (lm >= 0) & (lm < len(mis))
    n_leads = np.bincount(
        leads["region"][ok] * len(mis) + lm[ok], minlength=n_reg * len(mis)
    ).reshape(n_reg, len(mis))
    event = np.isin(mis % 12, [2, 5, 8, 10])
    base = roster.scale * _MARKETING_BASE_USD * _WEIGHT[:, None] * np.ones(len(mis))[None, :]
    marketing = base + n_leads * _COST_PER_LEAD_USD * np.where(event, 1.4, 1.0)[None, :]
    reg = np.repeat(np.arange(n_reg), len(mis))
    mm = np.tile(mis, n_reg)
    k = _key(seed, _T_SPEND, reg, mm)
    sales_v = sales.ravel() * np.exp(0.03 * _norm(k, 1)) * team_per_usd[reg]
    mkt_v = marketing.ravel() * np.exp(0.08 * _norm(k, 2)) * team_per_usd[reg]
    period = [f"{1970 + m // 12:04d}-{m % 12 + 1:02d}" for m in mm.tolist()]
    df = pd.DataFrame(
        {
            "month": period * 2,
            "category": ["marketing"] * len(mm) + ["sales"] * len(mm),
            "amount": np.round(np.concatenate([mkt_v, sales_v]), 2),
            "region": np.concatenate([regions[reg], regions[reg]]),
        }
    )
    return df.sort_values(["month", "region", "category"], kind="stable").reset_index(drop=True)


def _submissions(monthly: pd.DataFrame, seed: int, end_mi: int) -> pd.DataFrame:
    """Each region's call for month M, made in the last week of M-1: commit and best case."""
    regions = np.array(REGIONS, dtype=object)
    n_reg = len(REGIONS)
    periods = np.arange(_mi(SAMPLE_START) + 1, end_mi + 2)
    reg = np.repeat(np.arange(n_reg), len(periods))
    pm = np.tile(periods, n_reg)
    actual = monthly["revenue"].reindex(pd.MultiIndex.from_arrays([reg, pm])).to_numpy()
    k = _key(seed, _T_FC, reg, pm)
    commit = actual * np.exp(-0.06 + 0.08 * _norm(k, 1))
    best = np.maximum(commit * 1.03, actual * np.exp(0.06 + 0.08 * _norm(k, 2)))
    last_day = _month_start(pm) - 1
    submitted = last_day - (_u(k, 3) * 5).astype(np.int64)
    wd = _weekday(submitted)
    submitted = submitted - np.where(wd == 5, 1, 0) - np.where(wd == 6, 2, 0)
    df = pd.DataFrame(
        {
            "submitted_date": np.concatenate([_iso(submitted)] * 2),
            "period": [f"{1970 + m // 12:04d}-{m % 12 + 1:02d}" for m in pm.tolist()] * 2,
            "category": ["commit"] * len(pm) + ["best_case"] * len(pm),
            "amount": np.round(np.concatenate([commit, best]), -2),
            "rep_id": None,
            "region": np.concatenate([regions[reg]] * 2),
        }
    )
    return df.sort_values(["period", "region", "category"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------
def write_sample(
    folder: str | Path,
    end_month: str | None = None,
    seed: int = _DEFAULT_SEED,
    scale: float = 1.0,
    fmt: str = "csv",
) -> Path:
    """Write the sample as ``NAME.csv`` (or ``NAME.parquet``) per table into ``folder``.

    Parameters
    ----------
    folder : str or Path
        Created when missing; files of the same names are overwritten.
    end_month : str, optional
        Last month (``YYYY-MM``); None means the last complete month.
    seed, scale : see :func:`generate_sample`.
    fmt : {"csv", "parquet"}
        CSV is UTF-8 with ``\n`` line ends; same arguments give byte-identical files.
        Parquet holds the same values (dates and ``opportunities.amount`` as text).

    Returns
    -------
    Path
        The folder.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    end_month = end_month or last_complete_month()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = generate_sample(end_month, seed=seed, scale=scale)
    for name, df in tables.items():
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        else:
            df.to_parquet(path, index=False)
    return folder


def ensure_sample(end_month: str | None = None) -> Path:
    """The default data source: the sample for ``end_month`` (seed 7, scale 1), written once.

    The folder is ``<project_root()>/.cache/sample/<end_month>-s7/``; it is written
    into a temporary sibling folder first and moved into place with ``os.replace``,
    so a reader never sees half a sample. Cheap when the folder exists.
    """
    end_month = end_month or last_complete_month()
    parse_month(end_month)
    target = project_root() / ".cache" / "sample" / f"{end_month}-s{_DEFAULT_SEED}"
    if _complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        write_sample(tmp, end_month=end_month, seed=_DEFAULT_SEED)
        if target.exists() and not _complete(target):
            shutil.rmtree(target)  # a damaged folder (files removed by hand): rebuild it
        try:
            os.replace(tmp, target)
        except OSError:
            # another process published the same sample first: keep theirs
            if not _complete(target):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _complete(folder: Path) -> bool:
    return all((folder / f"{name}.csv").is_file() for name in TABLE_NAMES)


def dirt_counts(tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, int]]:
    """Count each kind of injected dirt in generated tables (see the module docstring).

    Returns ``{table: {kind: rows}}``; a duplicated opportunity counts once (the copy).
    """
    o = tables["opportunities"]
    created = pd.to_datetime(o["created_date"])
    close = pd.to_datetime(o["close_date"])
    a = tables["activities"]
    return {
        "opportunities": {
            "duplicate_rows": int(o.duplicated().sum()),
            "close_before_created": int((close < created).sum()),
            "status_not_normalised": int((~o["status"].isin(["open", "won", "lost"])).sum()),
            "blank_source": int((o["source"].str.strip() == "").sum()),
            "thousands_separator": int(o["amount"].str.contains(",", regex=False).sum()),
        },
        "orders": {"negative_amount": int((tables["orders"]["amount"] < 0).sum())},
        "activities": {
            "unknown_rep": int((~a["rep_id"].isin(tables["reps"]["rep_id"])).sum()),
            "blank_outcome": int((a["outcome"].fillna("x").str.strip() == "").sum()),
        },
        "leads": {"blank_segment": int((tables["leads"]["segment"].str.strip() == "").sum())},
        "accounts": {
            "blank_industry": int((tables["accounts"]["industry"].str.strip() == "").sum())
        },
    }
