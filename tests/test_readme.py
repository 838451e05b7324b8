"""The README opens with exactly two commands, and they are the scripts CI runs."""

from __future__ import annotations

import os
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _first_code_block() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block is not None, "README has no sh code block"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_the_demo_and_the_test_command() -> None:
    commands = _first_code_block()
    assert len(commands) == 2
    assert commands[0].split()[0] == "scripts/demo"
    assert commands[1] == "scripts/test"


def test_the_commands_exist_and_ci_calls_the_test_command() -> None:
    for script in ("scripts/demo", "scripts/test", "scripts/bootstrap", ".ci/run"):
        path = REPO / script
        assert path.is_file() and os.access(path, os.X_OK), script
    assert "scripts/test" in (REPO / ".ci" / "run").read_text()
    assert "innotrial demo" in (REPO / "scripts" / "demo").read_text()
