"""The research steward (see app/carechain/steward.py): opens the patients' contributions with its own
key and answers pending research queries with noisy aggregates.

    python -m scripts.steward 0xSTEWARD...    # asks for the steward's keystore password; Ctrl-C stops

`make run` starts the demo's steward in a thread beside the web app (`start_demo`): its key is a
Ganache development key, so nothing needs unlocking there.
"""

import argparse
import getpass
import logging
import sys
import threading

from app.carechain.errors import CareChainError
from app.carechain.flows import CareChain
from app.carechain.keystore import Keystore
from app.carechain.settings import Settings
from app.carechain.steward import Steward
from scripts import demo, localchain


def start(settings: Settings, account) -> threading.Event:
    """Runs the steward in a daemon thread over its own connection; setting the returned event stops it."""
    stop = threading.Event()
    steward = Steward(CareChain.connect(settings), account)
    threading.Thread(target=steward.run, args=(stop,), name=f"steward {account.address}", daemon=True).start()
    return stop


def start_demo(settings: Settings) -> threading.Event:
    return start(settings, localchain.dev_account(demo.STEWARD_INDEX))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("steward", help="the steward's address (its keystore is in CARECHAIN_KEYSTORES)")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = Settings.from_environment()
    try:
        account = Keystore(settings.keystores).unlock(arguments.steward, getpass.getpass("Keystore password: "))
        Steward(CareChain.connect(settings), account).run(threading.Event())
    except KeyboardInterrupt:
        return 0
    except CareChainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
