"""An upstream that does not answer (a stopped sandbox, a wrong URL) is named in the error: the
service, its base URL, the variable that set it, and why; never a secret."""

import socket
from datetime import date

import pytest

from etf_assets.errors import KISError, KRXError, SEIBroError
from etf_assets.resources.kis import KISClient
from etf_assets.resources.krx import KRXClient
from etf_assets.resources.seibro import SEIBroClient

SESSION = date(2026, 11, 20)
SECRETS = ("pw-never-shown", "auth-never-shown", "secret-never-shown")


@pytest.fixture
def stopped() -> str:
    """A local base URL nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_krx_data_service_names_its_url_and_variable(stopped: str) -> None:
    krx = KRXClient(data_url=stopped, krx_id="someone", krx_pw=SECRETS[0], max_retries=0)
    with pytest.raises(KRXError) as failed:
        krx.fetch_daily_prices(SESSION)
    assert str(failed.value) == (
        f"krx_data login: KRX data service at {stopped} (KRX_DATA_URL) did not answer member "
        "login after 0 retries: connection refused, nothing listens there (ConnectionError)."
    )


def test_krx_openapi_names_its_url_and_variable(stopped: str) -> None:
    krx = KRXClient(openapi_url=stopped, auth_key=SECRETS[1], max_retries=0)
    with pytest.raises(KRXError, match=f"KRX Open API at {stopped} \\(KRX_OPENAPI_URL\\)") as err:
        krx.fetch_openapi_daily(SESSION)
    assert "basDd=20261120" in str(err.value) and SECRETS[1] not in str(err.value)


def test_kis_names_its_url_and_variable(stopped: str, tmp_path) -> None:
    kis = KISClient(
        app_key="PSkey", app_secret=SECRETS[2], base_url=stopped, token_cache_dir=str(tmp_path)
    )
    with pytest.raises(KISError) as failed:
        kis.inquire_price("069500")
    assert f"KIS at {stopped} (KIS_BASE_URL) did not answer the token issue" in str(failed.value)
    assert "connection refused" in str(failed.value) and SECRETS[2] not in str(failed.value)


def test_seibro_names_its_url_and_variable(stopped: str) -> None:
    seibro = SEIBroClient(url=stopped, max_retries=0)
    with pytest.raises(SEIBroError, match=f"SEIBro at {stopped} \\(SEIBRO_URL\\) did not answer"):
        seibro.fetch_distributions(SESSION, SESSION)


def test_a_password_in_a_base_url_is_masked(stopped: str) -> None:
    with_password = stopped.replace("http://", f"http://user:{SECRETS[0]}@")
    krx = KRXClient(data_url=with_password, krx_id="someone", krx_pw="x", max_retries=0)
    with pytest.raises(KRXError) as failed:
        krx.fetch_daily_prices(SESSION)
    assert SECRETS[0] not in str(failed.value)
    assert "http://user:***@127.0.0.1" in str(failed.value)
