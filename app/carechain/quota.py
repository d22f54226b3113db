"""Per-patient storage quota: how many bytes of records (encrypted envelopes, by any author) a
patient's index may point at on this deployment's IPFS node, so that no author, not even a doctor
with a write grant, can fill the node. Usage is kept beside the keystores, one JSON file; callers
hold the patient's storage lock (see flows.py) from the check to the count."""

from pathlib import Path

from app.carechain import jsonfile
from app.carechain.errors import InvalidInput
from app.carechain.locks import named_lock

DEFAULT_QUOTA = 1 << 30  # 1 GiB per patient


class StorageQuota:
    def __init__(self, path: Path, limit: int = DEFAULT_QUOTA):
        self.path = Path(path)
        self.limit = limit

    def used(self, patient: str) -> int:
        return jsonfile.read(self.path).get(patient, 0)

    def check(self, patient: str, size: int) -> None:
        """Refuses `size` more bytes for `patient` if they would exceed the quota."""
        used = self.used(patient)
        if used + size > self.limit:
            raise InvalidInput(
                f"this patient's storage is full: {_megabytes(used)} of {_megabytes(self.limit)} used, and this "
                f"record needs {_megabytes(size)}. Nothing was stored; ask the administrator for more space")

    def count(self, patient: str, size: int) -> None:
        with named_lock("quota file", self.path):
            usage = jsonfile.read(self.path)
            usage[patient] = usage.get(patient, 0) + size
            jsonfile.write(self.path, usage)


def _megabytes(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB"
