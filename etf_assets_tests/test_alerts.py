"""Alert channels with real parts: apprise delivering to a JSON webhook and an SMTP server on
127.0.0.1, messages free of every secret, the instructions for the errors the real clients
raise against the sandbox, the sensors' default status, and `make health --notify`.

`AlertInbox` (both receivers, and the URL list that reaches them) serves test_sensors.py too.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from etf_assets import alerts, health, partitions, settings
from etf_assets.alerts import ALERTING_OFF, REDACTED, Alert, AlertChannels, instruction_for
from etf_assets.errors import KISError, KISTokenIssueThrottled, KRXLoginFailed, KRXLoginRequired
from etf_assets.partitions import KST
from etf_assets.resources.kis import KISClient
from etf_assets.sensors import alert_sensors
from etf_assets_tests.helpers import krx_client
from etf_sandbox.server import SandboxConfig, start_sandbox

SECRETS = {
    "KRX_PW": "krx-pw-Secret-1f9",
    "KRX_AUTH_KEY": "krx-auth-Key-77a",
    "KIS_APP_SECRET": "kis-app-Secret/+=42",  # URL-encoding changes it: both forms are redacted
}
SATURDAY_AFTER = datetime(2026, 11, 21, 12, tzinfo=KST)  # the shared warehouse is fresh then


@dataclass(frozen=True)
class Received:
    """One message as a channel received it."""

    channel: str
    title: str
    body: str


class _Webhook(BaseHTTPRequestHandler):
    inbox: AlertInbox

    def do_POST(self) -> None:
        expected = base64.b64encode(f"alerts:{AlertInbox.HOOK_PASSWORD}".encode()).decode()
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.inbox.posts += 1
        if self.inbox.refuse_next:
            self.inbox.refuse_next -= 1
            self.send_response(503)
        elif self.headers.get("Authorization") == f"Basic {expected}":
            self.inbox.received.append(Received("json", payload["title"], payload["message"]))
            self.send_response(200)
        else:
            self.send_response(401)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class _Mailbox:
    def __init__(self, inbox: AlertInbox) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mail = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(mail, EmailMessage)
        body = mail.get_body(("plain",))
        text = body.get_content().replace("\r\n", "\n") if body else ""
        self.inbox.received.append(Received("email", str(mail["Subject"]), text))
        return "250 OK"


def _smtp_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
) -> AuthResult:
    valid = isinstance(auth_data, LoginPassword) and (
        auth_data.password.decode() == AlertInbox.SMTP_PASSWORD
    )
    return AuthResult(success=valid)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AlertInbox:
    """A JSON webhook and an SMTP server on 127.0.0.1, each behind an apprise URL with its own
    credentials, recording every message they accept."""

    HOOK_PASSWORD = "hook-Secret-5c2"
    SMTP_PASSWORD = "smtp-Secret-8d4"

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.posts = 0  # requests the webhook answered, refused ones included
        self.refuse_next = 0  # the webhook answers 503 to this many requests first
        handler = type("Webhook", (_Webhook,), {"inbox": self})
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._smtp = Controller(
            _Mailbox(self),
            hostname="127.0.0.1",
            port=_free_port(),
            authenticator=_smtp_login,
            auth_require_tls=False,
        )

    def __enter__(self) -> AlertInbox:
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self._smtp.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._smtp.stop()
        self._http.shutdown()
        self._http.server_close()

    @property
    def urls(self) -> str:
        """Both channels, comma- and space-separated as users write them."""
        hook = f"json://alerts:{self.HOOK_PASSWORD}@127.0.0.1:{self._http.server_port}/hook"
        mail = (
            f"mailto://alerts:{self.SMTP_PASSWORD}@127.0.0.1:{self._smtp.port}"
            "?from=etf-assets@example.com&to=ops@example.com"
        )
        return f"{hook}, {mail}"

    @property
    def secrets(self) -> list[str]:
        return [self.HOOK_PASSWORD, self.SMTP_PASSWORD, self.urls]

    def by_channel(self) -> dict[str, list[Received]]:
        channels: dict[str, list[Received]] = {"json": [], "email": []}
        for message in self.received:
            channels[message.channel].append(message)
        return channels

    def take(self) -> list[Received]:
        """The messages received since the last take, one per channel each (asserted)."""
        taken, self.received = self.received, []
        json_titles = [m.title for m in taken if m.channel == "json"]
        email_titles = [m.title for m in taken if m.channel == "email"]
        assert sorted(json_titles) == sorted(email_titles), taken
        return [m for m in taken if m.channel == "json"]


@pytest.fixture
def inbox() -> Iterator[AlertInbox]:
    with AlertInbox() as started:
        yield started


def test_one_message_reaches_every_channel(inbox: AlertInbox) -> None:
    alert = Alert("etf_assets: a title", ["first line", "second line", "한글 이름"])
    assert AlertChannels(urls=inbox.urls).send(alert)
    received = inbox.by_channel()
    assert [(m.title, m.body.strip()) for m in received["json"]] == [
        ("etf_assets: a title", "first line\nsecond line\n한글 이름")
    ]
    assert [(m.title, m.body.strip()) for m in received["email"]] == [
        ("etf_assets: a title", "first line\nsecond line\n한글 이름")
    ]


def test_no_secret_leaves_in_a_message(inbox: AlertInbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every configured secret, raw or URL-encoded, and the alert URLs themselves are redacted
    from title and body, whatever put them there (here: all of them, on purpose)."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    leaky = [*SECRETS.values(), *inbox.secrets, "kis-app-Secret%2F%2B%3D42"]
    alert = Alert(f"title {SECRETS['KRX_PW']}", [f"line {value}" for value in leaky])
    assert AlertChannels(urls=inbox.urls).send(alert)
    assert len(inbox.received) == 2
    for message in inbox.received:
        text = message.title + message.body
        for secret in leaky:
            assert secret not in text, (message.channel, secret)
        assert text.count(REDACTED) >= len(leaky)


def test_channels_are_shown_without_their_secrets_or_as_off() -> None:
    channels = AlertChannels(urls="json://alerts:pw-123@127.0.0.1:9/hook, nonsense://x tgram://")
    description = channels.channels().describe()
    assert "json://alerts:****@127.0.0.1:9/hook" in description
    assert "pw-123" not in description
    assert "3 channels configured, 2 unusable" in description
    assert "nonsense://*** (Unparseable URL nonsense://***)" in description
    assert AlertChannels(urls=None).channels().describe() == ALERTING_OFF
    assert not AlertChannels(urls=" , ").enabled


def test_check_severity_threshold_is_error_unless_warn_is_opted_in() -> None:
    default = AlertChannels(urls=None)
    assert default.alerts_on(dg.AssetCheckSeverity.ERROR)
    assert not default.alerts_on(dg.AssetCheckSeverity.WARN)
    assert AlertChannels(urls=None, min_severity="WARN").alerts_on(dg.AssetCheckSeverity.WARN)


def test_sensors_run_by_default_only_with_alert_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.ALERT_URLS_ENV, raising=False)
    for sensor in alert_sensors():
        assert sensor.default_status == dg.DefaultSensorStatus.STOPPED
        assert ALERTING_OFF in (sensor.description or "")
    monkeypatch.setenv(settings.ALERT_URLS_ENV, "json://alerts:pw-123@127.0.0.1:9/hook")
    for sensor in alert_sensors():
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
        assert "json://alerts:****@127.0.0.1:9/hook" in (sensor.description or "")
        assert "pw-123" not in (sensor.description or "") + str(sensor.metadata)


def _raised(call: Any) -> Exception:
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


def test_credential_errors_from_the_real_clients_get_their_instruction(tmp_path: Path) -> None:
    """Against the sandbox: LOGOUT without credentials, the CD010 password change, a refused
    and a throttled KIS token issue, each raised by the real client."""
    config = SandboxConfig(require_login=True)
    with start_sandbox(config) as sandbox:
        logout = _raised(krx_client(sandbox).fetch_etf_master)
        sandbox.set_faults("krx_data", krx_password_change=True)
        password_change = _raised(
            krx_client(sandbox, krx_id="sandbox", krx_pw="sandbox-pw").fetch_etf_master
        )
        app_key = next(key for key, (_, env) in config.kis_apps.items() if env == "real")

        def kis(secret: str, cache: str) -> KISClient:
            return KISClient(
                app_key=app_key,
                app_secret=secret,
                base_url=sandbox.url,
                token_cache_dir=str(tmp_path / cache),
                token_issue_wait_s=0,
            )

        refused = _raised(lambda: kis("a-wrong-secret", "a").inquire_price("069500"))
        kis(config.kis_apps[app_key][0], "b").inquire_price("069500")  # issues this minute's
        throttled = _raised(lambda: kis(config.kis_apps[app_key][0], "c").inquire_price("069500"))

    def instruction(error: Exception) -> str:
        return instruction_for(type(error).__name__, str(error))

    assert isinstance(logout, KRXLoginRequired)
    assert "set KRX_ID and KRX_PW" in instruction(logout)
    assert isinstance(password_change, KRXLoginFailed) and "CD010" in str(password_change)
    assert "password change (CD010)" in instruction(password_change)
    assert type(refused) is KISError
    assert "check KIS_APP_KEY, KIS_APP_SECRET and KIS_ENV" in instruction(refused)
    assert isinstance(throttled, KISTokenIssueThrottled)
    assert "one token a minute per app key" in instruction(throttled)


def test_health_notify_sends_the_verdict_through_the_channels(
    db: Path,
    inbox: AlertInbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(partitions, "now_kst", lambda: SATURDAY_AFTER)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv(settings.ALERT_URLS_ENV, inbox.urls)
    code = health.main(["--db", str(db), "--notify"])
    out = capsys.readouterr().out
    verdict = next(line for line in out.splitlines() if line.startswith("verdict: "))
    (message,) = inbox.take()
    assert message.title == f"etf_assets health: {verdict.removeprefix('verdict: ')}"
    assert "etf_daily_prices" in message.body and verdict in message.body
    assert code == (0 if verdict == "verdict: HEALTHY" else 1)
    assert "2 channels configured, 0 unusable" in out and AlertInbox.HOOK_PASSWORD not in out
    assert "verdict sent to json://alerts:****@127.0.0.1:" in out


UNREACHABLE_HOOK_PASSWORD = "unreachable-Secret-3e1"


@pytest.fixture
def no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "DELIVERY_RETRY_PAUSE_S", 0.0)


def test_health_names_unusable_urls_masked(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A URL apprise cannot load is no "alerting is off": each is named, its secrets masked."""
    monkeypatch.setattr(partitions, "now_kst", lambda: SATURDAY_AFTER)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    urls = "notaurl, json://alerts:pw-123@127.0.0.1:9/hook slack://T1/secret-B2"
    monkeypatch.setenv(settings.ALERT_URLS_ENV, urls)
    assert health.main(["--db", str(db)]) == health.EXIT_HEALTHY
    out = capsys.readouterr().out
    assert "Alert channels: 3 channels configured, 2 unusable" in out
    assert "2 URLs apprise cannot use: nota*** (Unsupported URL: nota***); slack://*** (" in out
    assert "Correct or remove each" in out
    assert ALERTING_OFF not in out
    for secret in ("notaurl", "pw-123", "secret-B2"):
        assert secret not in out


def test_health_notify_fails_with_the_channels_own_error(
    db: Path,
    inbox: AlertInbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_retry_pause: None,
) -> None:
    """One channel unreachable (a closed port): the others get the verdict, the command says
    what apprise said about that channel, masked, and exits 4."""
    monkeypatch.setattr(partitions, "now_kst", lambda: SATURDAY_AFTER)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    closed_port = _free_port()  # bound, then released: nothing listens
    unreachable = f"json://alerts:{UNREACHABLE_HOOK_PASSWORD}@127.0.0.1:{closed_port}/hook"
    monkeypatch.setenv(settings.ALERT_URLS_ENV, f"{inbox.urls}, {unreachable}")
    assert health.main(["--db", str(db), "--notify"]) == health.EXIT_NOT_DELIVERED
    out = capsys.readouterr().out
    assert "verdict NOT delivered to 1 channel(s):" in out
    assert re.search(
        r"! json://alerts:\*\*\*\*@127\.0\.0\.1:\d+/hook: A Connection error occurred sending "
        r"JSON notification to 127\.0\.0\.1\. \(tried twice\)",
        out,
    ), out
    assert UNREACHABLE_HOOK_PASSWORD not in out
    assert len(inbox.take()) == 1  # the reachable channels got it, once each


def test_a_failed_delivery_is_retried_once(inbox: AlertInbox, no_retry_pause: None) -> None:
    inbox.refuse_next = 1
    delivery = AlertChannels(urls=inbox.urls).send(Alert("etf_assets: a title", ["a line"]))
    assert delivery.complete and delivery.failed == {}
    assert inbox.posts == 2
    assert [m.title for m in inbox.take()] == ["etf_assets: a title"]

    inbox.refuse_next = 2  # refused twice: given up, and said so
    delivery = AlertChannels(urls=inbox.urls).send(Alert("etf_assets: again", ["a line"]))
    (failure,) = delivery.failures()
    assert "Failed to send JSON POST notification: Servers are overloaded., error=503." in failure
    assert inbox.posts == 4


def test_health_says_alerting_is_off(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(partitions, "now_kst", lambda: SATURDAY_AFTER)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.delenv(settings.ALERT_URLS_ENV, raising=False)
    health.main(["--db", str(db), "--notify"])
    assert ALERTING_OFF in capsys.readouterr().out
