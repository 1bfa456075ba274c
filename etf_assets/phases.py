"""The timetable, once: when each phase runs (KST), on which days, what it materializes, which
tables it keeps fresh, and when KRX's figures it waits for are final.

Schedules (`schedules.py`), freshness (`checks/rules.py`), the staleness sensor, `make health`,
`make demo` and the tests read this module; retiming a phase is one line here.

A table is due `GRACE` after its phase starts: the run has that long to finish before the
freshness check and the stale-data alert call the table a session behind.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum

from etf_assets.partitions import KST

TIMEZONE = "Asia/Seoul"
GRACE = timedelta(hours=2)
# The checks-only monitoring job runs this long after each phase starts.
MONITORING_DELAY = timedelta(minutes=30)

# When a session's figures are final at KRX (KST, on the session's own day): the data service's
# prices after the 15:30 close plus a settling margin, investor flows after 18:00; the Open API
# publishes a session at 08:00 of the next day (T+1).
PRICES_FINAL_AT = time(15, 45)
FLOWS_FINAL_AT = time(18, 0)
OPENAPI_PUBLISHED_AT = time(8, 0)
# KOFIA discloses a month's fees and costs within the following month (January 2026's were there
# on 17 February, May 2026's not yet on 4 June; docs/kofia.md § Disclosure): the costs phase
# runs on a month's first sessions for the month before last, the newest surely disclosed.
COSTS_FIRST_SESSIONS = 3


def disclosed_month(day: date) -> date:
    """The newest month (its first day) KOFIA has surely disclosed on `day`: the month before
    last."""
    return (day.replace(day=1) - timedelta(days=32)).replace(day=1)


class Target(Enum):
    """Which partition a phase's tick runs."""

    SESSION = "today's session"
    WEEK = "the week's last session"
    MONTHS = "the previous, this and the next month"
    DISCLOSED_MONTH = "the newest month KOFIA has disclosed, on a month's first sessions"


# Day-of-week fields of a cron expression, with how people read them.
WEEKDAYS = "1-5"
SUNDAY = "0"
DAY_LABELS = {WEEKDAYS: "Mon–Fri", SUNDAY: "Sunday"}


@dataclass(frozen=True)
class Phase:
    """One phase: its `<name>_job` of `assets`, scheduled as `<name>_schedule`.

    `tables` are the tables this phase keeps fresh (each in exactly one phase): they are due
    `GRACE` after `at` on the phase's days.
    """

    name: str
    at: time
    days: str
    assets: tuple[str, ...]
    tables: tuple[str, ...]
    target: Target
    why: str

    @property
    def cron(self) -> str:
        return cron_at(self.at, self.days)

    @property
    def since_midnight(self) -> timedelta:
        return timedelta(hours=self.at.hour, minutes=self.at.minute)

    @property
    def due(self) -> time:
        """When its tables are due: the phase's time plus GRACE."""
        return _plus(self.at, GRACE)

    @property
    def label(self) -> str:
        """`Mon–Fri 16:00 KST`."""
        return f"{DAY_LABELS[self.days]} {self.at:%H:%M} KST"

    @property
    def due_label(self) -> str:
        return f"{DAY_LABELS[self.days]} {self.due:%H:%M} KST"

    def tick(self, day: date) -> datetime:
        """The phase's tick on `day`, in Seoul time."""
        return datetime.combine(day, self.at, tzinfo=KST)


def cron_at(at: time, days: str) -> str:
    return f"{at.minute} {at.hour} * * {days}"


def _plus(at: time, delta: timedelta) -> time:
    return (datetime.combine(datetime.min, at) + delta).time()


PHASES: tuple[Phase, ...] = (
    Phase(
        "listing", time(9, 0), WEEKDAYS,
        ("krx_etf_list", "etf_details", "etf_classification"),
        ("krx_etf_list", "etf_details", "etf_classification"),
        Target.SESSION,
        "KRX's master of the day, before the market opens, and what it says for pension "
        "accounts and tax (etf_classification)",
    ),
    Phase(
        "distributions", time(9, 0), WEEKDAYS,
        ("etf_distributions",),
        ("etf_distributions",),
        Target.MONTHS,
        "with the listing: SEIBro's payouts are announced before their record date and "
        "corrected after, so the trailing months are rewritten whole in one run",
    ),
    Phase(
        "prices", time(16, 0), WEEKDAYS,
        ("etf_daily_prices", "etf_aum", "etf_creations"),
        ("etf_daily_prices", "etf_aum", "etf_creations"),
        Target.SESSION,
        "after the 15:30 close, once the data service's figures are final; the units listed "
        "turned into money in and out (etf_creations)",
    ),
    Phase(
        "week52", time(17, 0), WEEKDAYS,
        ("etf_52w", "etf_returns", "etf_overview", "etf_universe", "etf_universe_names"),
        ("etf_52w", "etf_returns", "etf_overview_snapshot", "etf_universe"),
        Target.SESSION,
        "the day's prices turned into 52-week figures, returns and yield, the overview, and "
        "the universe rebuilt with the day's prices and payouts",
    ),
    Phase(
        "flows", time(18, 30), WEEKDAYS,
        ("etf_investor_flows", "etf_overview"),
        ("etf_investor_flows",),
        Target.SESSION,
        "KRX's investor flows are final after 18:00; the overview is refreshed to include them",
    ),
    Phase(
        "tracking", time(21, 0), SUNDAY,
        ("etf_holdings", "etf_tracking_error"),
        ("etf_holdings", "etf_tracking_error"),
        Target.WEEK,
        "the week's baskets and tracking figures, once the week is over",
    ),
    Phase(
        "exposure", time(21, 0), SUNDAY,
        ("stock_sectors", "stock_shares", "etf_exposure", "etf_overlap", "etf_stock_holders"),
        ("stock_sectors", "stock_shares", "etf_exposure", "etf_overlap", "etf_stock_holders"),
        Target.WEEK,
        "with tracking: the week's baskets looked through, by sector and country, fund against "
        "fund, and stock by stock (KRX's industries and listed shares of the week)",
    ),
    Phase(
        "costs", time(9, 0), WEEKDAYS,
        ("etf_costs",),
        ("etf_costs",),
        Target.DISCLOSED_MONTH,
        "KOFIA's fees and costs (TER, 기타비용, 매매·중개수수료) of the newest disclosed "
        f"month, on a month's first {COSTS_FIRST_SESSIONS} sessions",
    ),
)  # fmt: skip

PHASE_BY_NAME: dict[str, Phase] = {phase.name: phase for phase in PHASES}
PHASE_OF_TABLE: dict[str, Phase] = {table: phase for phase in PHASES for table in phase.tables}


def phase_of(table: str) -> Phase:
    """The phase that keeps `table` fresh."""
    return PHASE_OF_TABLE[table]


def monitoring_crons() -> list[str]:
    """`MONITORING_DELAY` after each distinct phase time, one cron expression each."""
    ticks = sorted({(phase.days, _plus(phase.at, MONITORING_DELAY)) for phase in PHASES})
    return [cron_at(at, days) for days, at in ticks]
