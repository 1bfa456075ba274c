"""Exception types, one module like requests' `exceptions`: named for what happened.

Messages say what went wrong and what to do about it. They never contain secrets: no
passwords, app secrets, auth keys or tokens, only the screen, date and a short body excerpt.
"""

from __future__ import annotations

import sys
from datetime import datetime
from types import TracebackType
from typing import ClassVar


class EtfAssetsError(Exception):
    """Base of every error this package raises on purpose."""


class UpstreamError(EtfAssetsError):
    """An upstream service (KRX data service, KRX Open API, KIS) answered something unusable."""

    def __init__(
        self,
        service: str,
        message: str,
        *,
        screen: str | None = None,
        status: int | None = None,
        body_excerpt: str | None = None,
    ) -> None:
        self.service = service
        self.screen = screen
        self.status = status
        self.body_excerpt = body_excerpt
        where = f"{service} {screen}" if screen else service
        detail = f" (HTTP {status})" if status is not None else ""
        excerpt = f" Body starts: {body_excerpt[:160]!r}" if body_excerpt else ""
        super().__init__(f"{where}: {message}{detail}.{excerpt}")


class KRXError(UpstreamError):
    """The KRX data service or Open API failed."""


class KRXLoginRequired(KRXError):
    """KRX answered `LOGOUT` and no member credentials are configured."""


class KRXLoginFailed(KRXError):
    """The 3-step KRX member login was refused (wrong id/password, password change due)."""


class KRXMaintenance(KRXError):
    """KRX served its HTML 'service unavailable' page instead of JSON."""


class KRXBadResponse(KRXError):
    """The body is not the JSON envelope the screen promises (missing key, not JSON)."""


class KRXAuthKeyRejected(KRXError):
    """The Open API answered 401: the AUTH_KEY is wrong or the service is not approved."""


class KRXNotYetPublished(KRXError):
    """The date has no data yet (Open API is T+1; today's session closes at 15:30 KST).

    Retryable: run again later. Distinct from a past closure, which is an empty partition.
    """


class SessionNotFinal(KRXNotYetPublished):
    """Now is before the time the session's figures are final at (phases.py): no answer can be
    final yet, so the run fails at once instead of retrying; it says when to run again."""

    def __init__(self, message: str, *, final_from: datetime) -> None:
        self.final_from = final_from
        super().__init__("krx", f"{message}: run it again after {final_from:%Y-%m-%d %H:%M} KST")


class KISError(UpstreamError):
    """KIS answered `rt_cd != "0"`; carries KIS's own `msg_cd` and `msg1`."""

    def __init__(
        self,
        message: str,
        *,
        msg_cd: str | None = None,
        msg1: str | None = None,
        screen: str | None = None,
        status: int | None = None,
        body_excerpt: str | None = None,
    ) -> None:
        self.msg_cd = msg_cd
        self.msg1 = msg1
        codes = f" [{msg_cd}]" if msg_cd else ""
        if msg_cd and msg1:
            codes += f" {msg1.strip()}"
        super().__init__(
            "kis",
            f"{message}{codes}",
            screen=screen,
            status=status,
            body_excerpt=body_excerpt,
        )


class KISRateLimited(KISError):
    """EGW00201: more than the app key's requests per second."""


class KISTokenExpired(KISError):
    """EGW00123: the access token is expired or invalid."""


class KISTokenIssueThrottled(KISError):
    """EGW00133: a token was issued less than a minute ago; wait, do not loop."""


class KISPaperUnsupported(KISError):
    """90000000: the ETF TRs are not offered to paper-trading (모의투자) app keys."""


class ServiceError(UpstreamError):
    """An UpstreamError of one fixed service (`SERVICE`), raised without naming it each time."""

    SERVICE: ClassVar[str]

    def __init__(
        self,
        message: str,
        *,
        screen: str | None = None,
        status: int | None = None,
        body_excerpt: str | None = None,
    ) -> None:
        super().__init__(
            self.SERVICE, message, screen=screen, status=status, body_excerpt=body_excerpt
        )


class SEIBroError(ServiceError):
    """SEIBro (the Korea Securities Depository's portal) failed or answered something unusable."""

    SERVICE = "seibro"


class SEIBroServerWarning(SEIBroError):
    """SEIBro answered `<WARNING>서버오류2` (HTTP 200): it refused the request body, e.g. one
    not sent as `application/xml`."""


class SEIBroBadAnswer(SEIBroError):
    """The answer is not the XML SEIBro sends (an HTML page, not XML), or a count answer holds
    neither `result` rows nor `LIST_CNT`."""


class SEIBroIncomplete(SEIBroError):
    """Paging brought fewer distinct rows than SEIBro's own count for the same filter."""


class KOFIAError(ServiceError):
    """KOFIA 전자공시 (dis.kofia.or.kr) failed or answered something unusable."""

    SERVICE = "kofia"


class KOFIABadAnswer(KOFIAError):
    """The answer is not KOFIA's XML (an HTML page, a truncated body), or it carries a ProFrame
    error code (`pfmResponseCode`) instead of rows."""


class KOFIANotYetDisclosed(KOFIAError):
    """KOFIA answers a month it has not disclosed yet (or a day that is no business day) with
    no row: a month's figures appear within the following month."""


class ConfigurationError(EtfAssetsError, ValueError):
    """A setting (an environment variable) holds a value we cannot use. The message is one line:
    the variable, its value (secrets masked), what is allowed; it is what the CLI prints."""


def _configuration_errors_alone(previous: object) -> object:
    """An excepthook that prints an uncaught ConfigurationError as its one line, and hands every
    other error to `previous`.

    `dagster asset materialize -m etf_assets.definitions` imports the Definitions in its own
    process and lets an error raised while loading them (a setting read by a resource, or by
    the calendar the partitions are built from) reach the interpreter, whose traceback through
    Dagster's loader (about 75 lines) would bury the sentence that says what to fix. Code
    servers (`make dev`) catch the error and show its message in the UI.
    """

    def excepthook(
        kind: type[BaseException], error: BaseException, traceback: TracebackType | None
    ) -> None:
        if isinstance(error, ConfigurationError):
            print(f"etf_assets configuration error: {error}", file=sys.stderr)
        else:
            previous(kind, error, traceback)  # type: ignore[operator]

    excepthook.etf_assets = True  # type: ignore[attr-defined]
    return excepthook


# Installed once per process, on the first import of this module (settings imports it before
# any setting is read); an uncaught error of any other type prints as before.
if not getattr(sys.excepthook, "etf_assets", False):
    sys.excepthook = _configuration_errors_alone(sys.excepthook)  # type: ignore[assignment]


class ParseError(EtfAssetsError):
    """A wire value could not be turned into its typed column."""

    def __init__(
        self, message: str, *, field: str, ticker: str | None = None, value: object = None
    ) -> None:
        self.field = field
        self.ticker = ticker
        self.value = value
        who = f" for ticker {ticker}" if ticker else ""
        super().__init__(f"{message}: field {field}{who}, value {value!r}")


# Errors every further request would hit too: a fan-out stops at the first one.
KRX_FATAL: tuple[type[KRXError], ...] = (KRXLoginRequired, KRXLoginFailed, KRXAuthKeyRejected)
