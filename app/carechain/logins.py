"""Login names: a name or e-mail address chosen at sign-up, which logs in as well as the account's
address does. One JSON file beside the keystores maps each name, compared without regard to case
or Unicode form, to its account; a name belongs to one account, and an account has at most one.
The file holds what a login page needs and nothing else: no key, no record. An e-mail address
identifies its owner to whoever runs the server, as any login does; it never goes on chain.
"""

import re
import threading
import unicodedata
from pathlib import Path

from app.carechain import jsonfile
from app.carechain.errors import InvalidInput
from app.carechain.model import checksum

# Letters (any script), digits and . _ - + @: a name, a nickname or an e-mail address.
ALLOWED = re.compile(r"[\w.+@-]{3,64}")


def normalized(name: str) -> str:
    """How names are compared: "Ada.Lovelace@Example.org" and "ada.lovelace@example.org" are one."""
    return unicodedata.normalize("NFKC", (name or "").strip()).casefold()


def check(name: str) -> str:
    """The name as it will be compared, or InvalidInput saying what a name may be."""
    key = normalized(name)
    if not ALLOWED.fullmatch(key) or key.startswith("0x"):
        raise InvalidInput("a login name has 3 to 64 letters, digits or . _ - + @ (an e-mail address will do), "
                           "and does not start with 0x")
    return key


class LoginNames:
    _lock = threading.Lock()  # one writer at a time in this process

    def __init__(self, path: Path):
        self.path = Path(path)

    def claim(self, name: str, address: str) -> str:
        """Gives `name` to `address`; refuses a name taken by another account, or a second name."""
        key, address = check(name), checksum(address)
        with self._lock:
            names = jsonfile.read(self.path)
            if names.get(key, address) != address:
                raise InvalidInput("this login name is taken: choose another")
            if any(owner == address and other != key for other, owner in names.items()):
                raise InvalidInput("this account already has a login name")
            names[key] = address
            jsonfile.write(self.path, names)
        return key

    def address_of(self, name: str) -> str | None:
        return jsonfile.read(self.path).get(normalized(name))

    def name_of(self, address: str) -> str | None:
        return next((name for name, owner in jsonfile.read(self.path).items() if owner == address), None)
