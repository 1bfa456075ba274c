"""Real captured upstream answers (copied from the project's wire research, with sources).

Each file keeps `_source`, `_request`, `_note` and the verbatim body (`_response_body` for KRX,
`body` for KIS, sometimes stored as a JSON string).
"""

import json
from pathlib import Path
from typing import Any

SAMPLES_DIR = Path(__file__).resolve().parent


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES_DIR / name).read_text(encoding="utf-8"))


def sample_body(name: str) -> Any:
    """The verbatim response body, decoded even when it was stored as a JSON string."""
    data = sample(name)
    body = data.get("_response_body", data.get("body"))
    return json.loads(body) if isinstance(body, str) else body
