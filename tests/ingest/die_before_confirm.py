"""`innotrial ingest` that SIGKILLs itself after a commit, before that batch's confirmation.

Run as `python -m tests.ingest.die_before_confirm [ingest options]`: the first batch that holds
readings messages is durably committed (and its MQTT acks queued), then the process dies
where it would have published the confirmation. tests/ingest/test_end_to_end.py uses it.
"""

from __future__ import annotations

import os
import signal
import sys

from ingest.confirm import Confirmer, settled_seq
from ingest.processing import Processed
from innotrial.cli import main


def _die_instead(_self: Confirmer, batch: list[Processed]) -> None:
    if any(settled_seq(item) is not None for item in batch):
        os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    Confirmer.confirm = _die_instead  # type: ignore[method-assign]
    sys.argv = ["innotrial", "ingest", *sys.argv[1:]]
    main()
