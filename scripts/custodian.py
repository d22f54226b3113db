"""Custodians of emergency summary keys (see app/carechain/custodian.py): each hospital releases its
share into open break-glass windows with its own key.

    python -m scripts.custodian 0xHOSPITAL...    # asks for the hospital's keystore password; Ctrl-C stops

`make run` starts one thread per demo hospital beside the web app (`start_demo`): the demo's keys are
Ganache's development keys, so nothing needs unlocking there.
"""

import sys
import threading

from app.carechain.custodian import Custodian
from app.carechain.settings import Settings
from scripts import demo, key_services, localchain


def start(settings: Settings, hospitals) -> threading.Event:
    """Runs a custodian per hospital account in a daemon thread; setting the returned event stops them."""
    return key_services.start(settings, hospitals, Custodian)


def start_demo(settings: Settings) -> threading.Event:
    return start(settings, [localchain.dev_account(index) for _, index, _, role, _ in demo.PEOPLE if role == "hospital"])


if __name__ == "__main__":
    sys.exit(key_services.main(__doc__.split("\n\n")[0], "hospital", Custodian))
