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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import apprise
import dagster as dg
from apprise.utils.parse import parse_urls
from pydantic import Field

from etf_assets import errors, settings

REDACTED = "***"
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
    """What to do about a failure whose error is `error` (and whose message holds `marker`)."""

    error: type[Exception]
    instruction: str
    marker: str = ""


# First match wins: the specific message before its class's general case.
REMEDIES = (
    Remedy(
        errors.KRXLoginFailed,
        "KRX wants its three-monthly password change (CD010): log in on data.krx.co.kr with "
        "KRX_ID, change the password there, put the new one in KRX_PW where `dagster dev` "
        "(or dagster-daemon) gets its environment, restart it and re-run.",
        marker="CD010",
    ),
    Remedy(
        errors.KRXLoginFailed,
        "KRX refused the login: check KRX_ID and KRX_PW (log in on data.krx.co.kr by hand to "
        "see why), and that no other process uses the same account, then re-run.",
    ),
    Remedy(
        errors.KRXLoginRequired,
        "KRX's data service wants a member login since Feb 2026: set KRX_ID and KRX_PW (a "
        "free data.krx.co.kr account), or KRX_AUTH_KEY for daily prices from the KRX Open API, "
        "in the environment of `dagster dev` (or dagster-daemon), restart it and re-run.",
    ),
    Remedy(
        errors.KRXAuthKeyRejected,
        "The KRX Open API refused KRX_AUTH_KEY: check the key and that the etf_bydd_trd "
        "service is approved for it on openapi.krx.co.kr, then restart and re-run.",
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


def instruction_for(error_class: str, message: str) -> str:
    """The remedy for an error known by its class name (a run's errors are serialized)."""
    for remedy in REMEDIES:
        if remedy.error.__name__ == error_class and remedy.marker in message:
            return remedy.instruction
    return DEFAULT_INSTRUCTION


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


@dataclass
class Channels:
    """The parsed channels of one URL list; `invalid` counts URLs apprise could not load."""

    plugins: list[apprise.plugins.NotifyBase] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    invalid: int = 0

    @classmethod
    def parse(cls, raw: str | None) -> Channels:
        channels = cls()
        for url in parse_urls(raw or ""):
            plugin = apprise.Apprise.instantiate(url)
            if plugin is None:
                channels.invalid += 1
            else:
                channels.plugins.append(plugin)
                channels.urls.append(url)
        return channels

    def secrets(self) -> list[str]:
        return [*self.urls, *(value for p in self.plugins for value in _private_values(p))]

    def describe(self) -> str:
        """The channels as the UI and `make health` show them: apprise's privacy form."""
        if not self.plugins:
            return ALERTING_OFF
        shown = ", ".join(p.url(privacy=True).split("?")[0] for p in self.plugins)
        bad = f"; {self.invalid} URL(s) not understood by apprise, ignored" if self.invalid else ""
        return f"Alerting to {len(self.plugins)} channel(s): {shown}{bad}"


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
        return bool(self.channels().plugins)

    def alerts_on(self, severity: dg.AssetCheckSeverity) -> bool:
        """Whether a failed check of `severity` is alerted (ERROR always, WARN on opt-in)."""
        order = settings.ALERT_SEVERITIES
        return order.index(severity.value) >= order.index(self.min_severity.upper())

    def run_link(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"

    def asset_link(self, asset_key: dg.AssetKey, partition: str | None = None) -> str:
        link = f"{self.ui_url.rstrip('/')}/assets/{'/'.join(asset_key.path)}"
        return f"{link}?view=partitions&partition={partition}" if partition else link

    def send(self, alert: Alert) -> bool:
        """Send `alert`, redacted, to every channel; False if one of them failed (apprise logs
        which). Never raises: an alert that cannot be delivered must not fail a sensor tick,
        which would re-send to the channels that did receive it."""
        channels = self.channels()
        if not channels.plugins:
            return False
        secrets = [*channels.secrets(), *secret_env_values()]
        notifier = apprise.Apprise()
        for plugin in channels.plugins:
            notifier.add(plugin)
        return bool(
            notifier.notify(
                title=redact(alert.title, secrets),
                body=redact(alert.body, secrets),
                notify_type=alert.kind,
                body_format=apprise.NotifyFormat.TEXT,
            )
        )


def secret_env_values() -> list[str]:
    """The KRX and KIS secrets set in this process's environment."""
    values = (dg.EnvVar(name).get_value() for name in settings.SECRET_ENV_VARS)
    return [value for value in values if value]
