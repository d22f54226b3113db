"""Services that act with an account's own key, beside the web app or on their own: the
break-glass custodians (scripts/custodian.py) and the research steward (scripts/steward.py). Each
runs `Service(CareChain, account).run(stop)` until stopped."""

import argparse
import getpass
import logging
import sys
import threading

from app.carechain.errors import CareChainError
from app.carechain.flows import CareChain
from app.carechain.keystore import Keystore
from app.carechain.settings import Settings


def start(settings: Settings, accounts, service) -> threading.Event:
    """Runs the service for each account in a daemon thread, each over its own connection;
    setting the returned event stops them."""
    stop = threading.Event()
    for account in accounts:
        worker = service(CareChain.connect(settings), account)
        threading.Thread(target=worker.run, args=(stop,), name=f"{service.__name__} {account.address}",
                         daemon=True).start()
    return stop


def main(description: str, role: str, service) -> int:
    """The command line: the account's address, its keystore password asked for; Ctrl-C stops."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(role, help=f"the {role}'s address (its keystore is in CARECHAIN_KEYSTORES)")
    address = getattr(parser.parse_args(), role)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    settings = Settings.from_environment()
    try:
        account = Keystore(settings.keystores).unlock(address, getpass.getpass("Keystore password: "))
        service(CareChain.connect(settings), account).run(threading.Event())
    except KeyboardInterrupt:
        return 0
    except CareChainError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
