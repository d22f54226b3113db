"""The research steward (see app/carechain/steward.py): opens the patients' contributions with its own
key and answers pending research queries with noisy aggregates.

    python -m scripts.steward 0xSTEWARD...    # asks for the steward's keystore password; Ctrl-C stops

`make run` starts the demo's steward in a thread beside the web app (`start_demo`): its key is a
Ganache development key, so nothing needs unlocking there.
"""

import sys
import threading

from app.carechain.settings import Settings
from app.carechain.steward import Steward
from scripts import demo, key_services, localchain


def start_demo(settings: Settings) -> threading.Event:
    """Runs the demo's steward in a daemon thread; setting the returned event stops it."""
    return key_services.start(settings, [localchain.dev_account(demo.STEWARD_INDEX)], Steward)


if __name__ == "__main__":
    sys.exit(key_services.main(__doc__.split("\n\n")[0], "steward", Steward))
