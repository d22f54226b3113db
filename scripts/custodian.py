"""Custodians of emergency summary keys (see app/carechain/custodian.py): each hospital releases its
share into open break-glass windows with its own key.

    python -m scripts.custodian 0xHOSPITAL...    # asks for the hospital's keystore password; Ctrl-C stops

`make run` starts one thread per demo hospital beside the web app (`start_demo`): the demo's keys are
Ganache's development keys, so nothing needs unlocking there.
"""

import argparse
import getpass
import logging
import sys
import threading

from app.carechain.custodian import Custodian
from app.carechain.errors import CareChainError
from app.carechain.flows import CareChain
from app.carechain.keystore import Keystore
from app.carechain.settings import Settings
from scripts import demo, localchain


def start(settings: Settings, hospitals) -> threading.Event:
    """Runs a custodian per hospital account in a daemon thread, each over its own connection;
    setting the returned event stops them."""
    stop = threading.Event()
    for hospital in hospitals:
        custodian = Custodian(CareChain.connect(settings), hospital)
        threading.Thread(target=custodian.run, args=(stop,), name=f"custodian {hospital.address}",
                         daemon=True).start()
    return stop


def start_demo(settings: Settings) -> threading.Event:
    return start(settings, [localchain.dev_account(index) for _, index, _, role, _ in demo.PEOPLE if role == "hospital"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("hospital", help="the hospital's address (its keystore is in CARECHAIN_KEYSTORES)")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = Settings.from_environment()
    try:
        hospital = Keystore(settings.keystores).unlock(arguments.hospital, getpass.getpass("Keystore password: "))
        stop = threading.Event()
        Custodian(CareChain.connect(settings), hospital).run(stop)
    except KeyboardInterrupt:
        return 0
    except CareChainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
