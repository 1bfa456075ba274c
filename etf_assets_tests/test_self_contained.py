"""The repo is self-contained: no tracked file points at material a user's clone does not have.

Reference notes once lived beside the repo; what the code relies on is now in `docs/`. These
tests fail, naming file and line, if a tracked text file names those notes or an absolute path
of the machine it was written on, and if a `docs/… § Section` citation names no such section.
The needles are assembled from pieces so this file does not match itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from etf_assets_tests.helpers import REPO

# Documents outside the repo that nothing in it may name.
FORBIDDEN_NAMES: tuple[str, ...] = (
    "../" + "shared",
    "DESIGN" + ".md",
    "wire/" + "krx.md",
    "wire/" + "kis.md",
    "wire/" + "seibro.md",
    "wire/" + "samples",
)
# An absolute path under the work or home root (not a URL path such as example.com/home/...).
ABSOLUTE_PATH = re.compile(r"(?<![\w./~-])/(?:work|home)/")

# `docs/kis.md § Token`, `docs/assets.md § Definitions`, and chains `§ Token, § Errors`.
_SECTION = r"[^,;:()\n.`*]+"
CITATION = re.compile(rf"((?:docs/)?[\w-]+\.md) § ({_SECTION}(?:, § {_SECTION})*)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


@cache
def tracked_texts() -> dict[str, str]:
    """Every file git tracks that exists and is text, decoded (path relative to the repo)."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout
    texts: dict[str, str] = {}
    for name in listing.decode("utf-8").split("\0"):
        path = REPO / name
        if not name or not path.is_file():  # deleted in the work tree, or a submodule
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        texts[name] = data.decode("utf-8", errors="replace")
    return texts


def test_no_tracked_file_names_outside_material() -> None:
    offences = []
    for name, text in tracked_texts().items():
        for number, line in enumerate(text.splitlines(), start=1):
            found = [needle for needle in FORBIDDEN_NAMES if needle in line]
            match = ABSOLUTE_PATH.search(line)
            if match:
                found.append(line[match.start() : match.end() + 20].split()[0])
            if found:
                offences.append(f"{name}:{number}: names {', '.join(map(repr, found))}")
    assert not offences, "files point outside the repo:\n" + "\n".join(offences)


def test_section_citations_name_existing_headings() -> None:
    texts = tracked_texts()
    offences = []
    for name, text in texts.items():
        if not name.endswith((".py", ".md")):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for match in CITATION.finditer(line):
                doc = match.group(1)
                target = doc if doc.startswith("docs/") else Path(doc).name
                if target not in texts:
                    offences.append(f"{name}:{number}: cites {doc}, which is not in the repo")
                    continue
                headings = HEADING.findall(texts[target])
                for section in match.group(2).split(", § "):
                    section = section.strip()
                    if not any(h.startswith(section) for h in headings):
                        offences.append(f"{name}:{number}: {doc} has no section {section!r}")
    assert not offences, "citations of missing sections:\n" + "\n".join(offences)
