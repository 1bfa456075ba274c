"""Alerts through apprise: the channels of ETF_ASSETS_ALERT_URLS, and messages that say what to do.

Why apprise: one URL per channel reaches Slack, Telegram, e-mail and a hundred other services,
with each service's own secrets inside its URL, so one setting configures every channel and
nothing here knows a service's API. The sensors (`etf_assets.sensors`) decide *when* to alert;
this module decides *what* a message says and sends it.

No message may carry a secret: whatever a message holds (an upstream error's first line, a
check's offenders) is redacted before it leaves, of the KRX and KIS secrets in the environment
and of the alert URLs' own secrets (the tokens and passwords apprise marks private), URL-encoded
forms included.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote

import apprise
import dagster as dg
from pydantic import Field

from etf_assets import errors, settings

REDACTED = "***"
# A failed delivery is tried once more after this pause: a channel's hiccup (a mail server's
# greylisting, a webhook's restart) should not lose an alert.
DELIVERY_RETRY_PAUSE_S = 2.0
# An unusable URL is named by its scheme and host only when the host is a host name: apprise puts
# tokens everywhere else, the host included (tgram://<bot token>/…, pover://<user>@<token>).
HOST_NAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+")
# URLs are separated by spaces, semicolons or commas; a comma followed by neither a space nor a
# scheme stays inside its URL (apprise's `?to=a@example.com,b@example.com`). Unlike apprise's own
# splitting, a word that is no URL stays an entry of its own, to be reported, not glued to a URL.
URL_SEPARATOR = re.compile(r"[\s;]+|,(?=\s|,|$|[a-z0-9]+://)", re.IGNORECASE)
ALERTING_OFF = (
    f"Alerting is off: set {settings.ALERT_URLS_ENV} to apprise URLs (docs/operations.md § Alerts) "
    "and restart `dagster dev`."
)


@dataclass(frozen=True)
class Alert:
    """One message: a title (an e-mail's subject) and its lines; `kind` colours it per channel."""

    title: str
    lines: Sequence[str]
    kind: apprise.NotifyType = apprise.NotifyType.FAILURE

    @property
    def body(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Remedy:
    """What to do about a failure whose error is `error` (and whose message holds `marker`).

    `account_wide`: a credential every job and partition fails on until it is fixed, so their
    failures are one incident (etf_assets.sensors), not one alert per job and partition."""

    error: type[Exception]
    instruction: str
    marker: str = ""
    account_wide: bool = False

    @property
    def cause(self) -> str:
        """The cause's name in run tags: `KRXLoginFailed:CD010`."""
        return f"{self.error.__name__}:{self.marker}" if self.marker else self.error.__name__


# First match wins: the specific message before its class's general case.
REMEDIES = (
    Remedy(
        errors.KRXLoginFailed,
        "KRX wants its three-monthly password change (CD010): log in on data.krx.co.kr with "
        "KRX_ID, change the password there, put the new one in KRX_PW where `dagster dev` "
        "(or dagster-daemon) gets its environment, restart it and re-run.",
        marker="CD010",
        account_wide=True,
    ),
    Remedy(
        errors.KRXLoginFailed,
        "KRX refused the login: check KRX_ID and KRX_PW (log in on data.krx.co.kr by hand to "
        "see why), and that no other process uses the same account, then re-run.",
        account_wide=True,
    ),
    Remedy(
        errors.KRXLoginRequired,
        "KRX's data service wants a member login since Feb 2026: set KRX_ID and KRX_PW (a "
        "free data.krx.co.kr account), or KRX_AUTH_KEY for daily prices from the KRX Open API, "
        "in the environment of `dagster dev` (or dagster-daemon), restart it and re-run.",
        account_wide=True,
    ),
    Remedy(
        errors.KRXAuthKeyRejected,
        "The KRX Open API refused KRX_AUTH_KEY: check the key and that the etf_bydd_trd "
        "service is approved for it on openapi.krx.co.kr, then restart and re-run.",
        account_wide=True,
    ),
    Remedy(
        errors.KISTokenIssueThrottled,
        "KIS issues one token a minute per app key and another process took it (EGW00133): "
        "let every process share one token cache ($DAGSTER_HOME/kis_tokens), wait a minute "
        "and re-run; do not loop (each issue sends a KakaoTalk message).",
    ),
    Remedy(
        errors.KISError,
        "KIS refused to issue a token: check KIS_APP_KEY, KIS_APP_SECRET and KIS_ENV (real or "
        "paper); an app key lasts a year, so reissue an expired one on the KIS Open API portal, "
        "restart and re-run.",
        marker="token issue refused",
        account_wide=True,
    ),
    Remedy(
        errors.KISPaperUnsupported,
        "KIS does not offer the ETF TRs to paper-trading app keys: use a real-account key "
        "(KIS_ENV=real), or unset KIS_APP_KEY and KIS_APP_SECRET to run on KRX alone.",
    ),
    Remedy(
        errors.KRXNotYetPublished,
        "KRX has not published this session yet (close 15:30 KST; Open API T+1 from 08:00): "
        "re-run it later.",
    ),
    Remedy(
        errors.KRXMaintenance,
        "KRX is in maintenance (its 'service unavailable' page): re-run when it is back.",
    ),
)
DEFAULT_INSTRUCTION = "Open the run's log in the Dagster UI, fix the cause and re-run."


def remedy_for(error_class: str, message: str) -> Remedy | None:
    """The remedy for an error known by its class name (a run's errors are serialized)."""
    return next(
        (r for r in REMEDIES if r.error.__name__ == error_class and r.marker in message), None
    )


def instruction_for(error_class: str, message: str) -> str:
    remedy = remedy_for(error_class, message)
    return remedy.instruction if remedy else DEFAULT_INSTRUCTION


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (and its URL-encoded form) replaced, longest first."""
    forms = {form for secret in secrets if secret for form in (secret, quote(secret, safe=""))}
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return text


def _private_values(plugin: apprise.plugins.NotifyBase) -> list[str]:
    """The values apprise marks private in a channel's URL: passwords, bot and webhook tokens."""
    specs = {**plugin.template_tokens, **plugin.template_args}
    values: list[str] = []
    for name, spec in specs.items():
        if not spec.get("private"):
            continue
        value = getattr(plugin, spec.get("map_to", name), None)
        items = value if isinstance(value, list | tuple | set) else [value]
        values += [str(item) for item in items if isinstance(item, str | int) and str(item)]
    return values


def masked_url(url: str) -> str:
    """An unusable URL as messages name it: `json://127.0.0.1/***`, `tgram://***`, `nota***`."""
    scheme, sep, rest = url.partition("://")
    if not sep:  # not a URL at all: a few characters to recognise it by
        return f"{url[:4]}{REDACTED}" if len(url) > 4 else REDACTED
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    host = authority.rpartition("@")[2].split(":")[0]
    if not HOST_NAME.fullmatch(host):
        return f"{scheme}://{REDACTED}"
    return f"{scheme}://{host}" + (f"/{REDACTED}" if rest != host else "")


def _url_secrets(url: str) -> list[str]:
    """Every piece of an unusable URL that may be secret: all but its scheme, its host name and
    its query's parameter names (no plugin says which parts are private)."""
    scheme, _, rest = url.partition("://")
    location, _, query = rest.partition("?")
    shown = masked_url(url).removeprefix(f"{scheme}://").split("/")[0]
    pieces = [*re.split(r"[:/@#]", location), *(value for _, value in parse_qsl(query))]
    return [url, *(piece for piece in pieces if len(piece) >= 3 and piece != shown)]


def _logged(capture: io.StringIO) -> str:
    """What apprise logged, on one line (a retry logs the same words again: once)."""
    lines = [line.strip() for line in capture.getvalue().splitlines() if line.strip()]
    return " / ".join(dict.fromkeys(lines))


def _rejection(capture: io.StringIO, url: str) -> str:
    """Why apprise could not load `url`, in its words, with the URL and its pieces masked."""
    return redact(_logged(capture).replace(url, masked_url(url)), _url_secrets(url)[1:])


_APPRISE_LOGGER = logging.getLogger("apprise")
_APPRISE_LOG_LOCK = threading.Lock()  # sensors send from threads of one daemon


@contextmanager
def _apprise_log() -> Iterator[io.StringIO]:
    """apprise's warnings and errors while the block runs, kept from every other handler:
    apprise names a URL it cannot load in full, secrets included; callers show them masked."""
    said = io.StringIO()
    handler = logging.StreamHandler(said)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(message)s"))
    with _APPRISE_LOG_LOCK:
        propagate = _APPRISE_LOGGER.propagate
        _APPRISE_LOGGER.addHandler(handler)
        _APPRISE_LOGGER.propagate = False
        try:
            yield said
        finally:
            _APPRISE_LOGGER.removeHandler(handler)
            _APPRISE_LOGGER.propagate = propagate


@dataclass(frozen=True)
class UnusableChannel:
    """An entry of ETF_ASSETS_ALERT_URLS that apprise could not load, and apprise's reason."""

    url: str = field(repr=False)
    reason: str

    @property
    def shown(self) -> str:
        return masked_url(self.url)

    def describe(self) -> str:
        return f"{self.shown} ({self.reason})"


@dataclass
class Channels:
    """The parsed channels of one URL list; `unusable` holds the URLs apprise could not load."""

    plugins: list[apprise.plugins.NotifyBase] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    unusable: list[UnusableChannel] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | None) -> Channels:
        """Load every URL now, so a typo is named when the settings are read, not when an
        alert is due."""
        channels = cls()
        for url in filter(None, (e.strip(",") for e in URL_SEPARATOR.split(raw or ""))):
            with _apprise_log() as said:
                plugin = apprise.Apprise.instantiate(url)
            if plugin is None:
                reason = _rejection(said, url) or "apprise knows no such service"
                channels.unusable.append(UnusableChannel(url, reason))
            else:
                channels.plugins.append(plugin)
                channels.urls.append(url)
        return channels

    @property
    def configured(self) -> int:
        return len(self.plugins) + len(self.unusable)

    def secrets(self) -> list[str]:
        return [
            *self.urls,
            *(value for p in self.plugins for value in _private_values(p)),
            *(piece for channel in self.unusable for piece in _url_secrets(channel.url)),
        ]

    def unusable_error(self) -> str:
        """The unusable URLs named (masked) with apprise's reason; empty when there are none."""
        if not self.unusable:
            return ""
        named = "; ".join(channel.describe() for channel in self.unusable)
        return (
            f"{settings.ALERT_URLS_ENV}: {_count(len(self.unusable), 'URL')} apprise cannot use: "
            f"{named}. Correct or remove each (docs/operations.md § Alerts) and restart "
            "`dagster dev`."
        )

    def describe(self) -> str:
        """The channels as the UI and `make health` show them: apprise's privacy form."""
        if not self.configured:
            return ALERTING_OFF
        counts = f"{_count(self.configured, 'channel')} configured, {len(self.unusable)} unusable"
        shown = ", ".join(p.url(privacy=True).split("?")[0] for p in self.plugins)
        sending = f"; sending to {shown}" if shown else "; nothing can be sent"
        unusable = f". {self.unusable_error()}" if self.unusable else ""
        return f"Alert channels: {counts}{sending}{unusable}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass
class Delivery:
    """Where one alert went: the channels (shown masked) that took it and those that did not,
    with what apprise said about each."""

    delivered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return bool(self.delivered) and not self.failed

    def failures(self) -> list[str]:
        return [f"{channel}: {said}" for channel, said in self.failed.items()]


class AlertChannels(dg.ConfigurableResource):
    """The alert channels (apprise URLs) and what messages link to; secrets via dg.EnvVar."""

    urls: str | None = Field(
        default=None,
        repr=False,
        exclude=True,
        description=f"Space- or comma-separated apprise URLs ({settings.ALERT_URLS_ENV}).",
    )
    ui_url: str = Field(
        default=settings.UI_URL, description="The Dagster UI messages link to (ETF_ASSETS_UI_URL)."
    )
    min_severity: str = Field(
        default=settings.ALERT_MIN_SEVERITY,
        description="Lowest failed-check severity alerted: WARN or ERROR "
        "(ETF_ASSETS_ALERT_MIN_SEVERITY).",
    )

    @classmethod
    def from_env(cls) -> AlertChannels:
        """The channels as configured by the environment (docs/operations.md § Alerts)."""
        return cls(
            urls=dg.EnvVar(settings.ALERT_URLS_ENV).get_value(),
            ui_url=settings.ui_url(),
            min_severity=settings.alert_min_severity(),
        )

    def channels(self) -> Channels:
        return Channels.parse(self.urls)

    @property
    def enabled(self) -> bool:
        """At least one URL is set (usable or not: an unusable one is an error, not "off")."""
        return bool(self.channels().configured)

    def alerts_on(self, severity: dg.AssetCheckSeverity) -> bool:
        """Whether a failed check of `severity` is alerted (ERROR always, WARN on opt-in)."""
        order = settings.ALERT_SEVERITIES
        return order.index(severity.value) >= order.index(self.min_severity.upper())

    def run_link(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"

    def asset_link(self, asset_key: dg.AssetKey, partition: str | None = None) -> str:
        link = f"{self.ui_url.rstrip('/')}/assets/{'/'.join(asset_key.path)}"
        return f"{link}?view=partitions&partition={partition}" if partition else link

    def send(self, alert: Alert) -> Delivery:
        """Send `alert`, redacted, to each channel, trying a failed one once more; an unusable
        URL counts as a channel it did not reach. Never raises: an alert that cannot be
        delivered must not fail a sensor tick, which would re-send to the channels that did
        receive it."""
        channels = self.channels()
        secrets = [*channels.secrets(), *secret_env_values()]
        title, body = redact(alert.title, secrets), redact(alert.body, secrets)
        delivery = Delivery(failed={c.shown: c.reason for c in channels.unusable})
        for plugin in channels.plugins:
            shown = plugin.url(privacy=True).split("?")[0]
            notifier = apprise.Apprise()
            notifier.add(plugin)
            with _apprise_log() as said:
                for attempt in range(2):
                    if attempt:
                        time.sleep(DELIVERY_RETRY_PAUSE_S)
                    sent = notifier.notify(
                        title=title,
                        body=body,
                        notify_type=alert.kind,
                        body_format=apprise.NotifyFormat.TEXT,
                    )
                    if sent:
                        break
            if sent:
                delivery.delivered.append(shown)
            else:
                reason = redact(_logged(said), secrets) or "apprise gave no reason"
                delivery.failed[shown] = f"{reason} (tried twice)"
        return delivery


def secret_env_values() -> list[str]:
    """The KRX and KIS secrets set in this process's environment."""
    values = (dg.EnvVar(name).get_value() for name in settings.SECRET_ENV_VARS)
    return [value for value in values if value]
