"""Record storage on IPFS through the standard /api/v0 RPC (js-ipfs here; kubo or an IPFS Cluster
proxy elsewhere). Objects are addressed on chain by the 32-byte sha2-256 digest of their CIDv0.

Everything stored is pinned. Fetched bytes are hashed again before use, so a damaged or
substituted block in the node's store is reported, not returned.
"""

import io
import warnings

import base58
import ipfshttpclient
from ipfshttpclient.exceptions import Error as IpfsError

from app.carechain.errors import IntegrityError, MissingObject, ServiceUnavailable

SHA2_256_PREFIX = b"\x12\x20"  # multihash: sha2-256, 32 bytes
# ipfshttpclient 0.7.0 passes urllib3 an argument that urllib3 2 deprecates; harmless, and not ours.
warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)


def cid_of(digest: bytes) -> str:
    return base58.b58encode(SHA2_256_PREFIX + digest).decode()


def digest_of(cid: str) -> bytes:
    multihash = base58.b58decode(cid)
    if len(multihash) != 34 or not multihash.startswith(SHA2_256_PREFIX):
        raise ValueError(f"{cid} is not a CIDv0 with a sha2-256 digest")
    return multihash[2:]


class IpfsStore:
    """Objects are fetched only if this deployment's node holds them pinned (everything the product
    stores is pinned), so an index entry pointing at anything else (a foreign or invented digest)
    fails at once instead of waiting for a block an offline node will never find. A fetch that
    stalls is told apart from a missing object by asking the node whether it still answers."""

    def __init__(self, api_multiaddr: str, timeout: float = 60, fetch_timeout: float = 5):
        self.api_multiaddr = api_multiaddr
        self.fetch_timeout = fetch_timeout
        # connect() would refuse js-ipfs's version number; the RPC calls used here all work.
        self._client = ipfshttpclient.Client(api_multiaddr, timeout=timeout)
        self._pinned = _PINNED.setdefault(api_multiaddr, set())

    def close(self) -> None:
        self._client.close()

    def put(self, data: bytes) -> bytes:
        """Stores and pins `data`; returns its digest. Adding the same bytes again is harmless."""
        cid = self._call(lambda: self._client.add(io.BytesIO(data), pin=True, cid_version=0)["Hash"])
        digest = digest_of(cid)
        self._pinned.add(digest)
        return digest

    def get(self, digest: bytes) -> bytes:
        data = self._fetch(digest, {})
        self._verify(digest, data)
        return data

    def get_prefix(self, digest: bytes, length: int) -> bytes:
        """The first `length` bytes, unverified (for reading an envelope's header)."""
        return self._fetch(digest, {"offset": 0, "length": length})

    def unpin(self, digest: bytes) -> None:
        """Drops the pin, so the node's next garbage collection (see `collect_garbage`) frees the
        object. Callers decide from the chain that nothing indexed or granted still needs it."""
        self._pinned.discard(digest)
        try:
            self._client.pin.rm(cid_of(digest))
        except ipfshttpclient.exceptions.ErrorResponse as error:
            if "not pinned" not in str(error).lower():
                raise ServiceUnavailable(f"the IPFS node refused to unpin: {error}") from None
        except IpfsError as error:
            raise ServiceUnavailable(f"the IPFS node at {self.api_multiaddr} cannot be reached ({error})") from None

    def collect_garbage(self) -> None:
        """Deletes every unpinned block from the node's store (after a rotation: the old
        ciphertext is then really gone from this node)."""
        self._call(lambda: self._client.repo.gc(quiet=True))

    def is_pinned(self, digest: bytes) -> bool:
        try:
            self._call(lambda: self._client.pin.ls(cid_of(digest), type="recursive", timeout=self.fetch_timeout))
        except ServiceUnavailable as error:
            if "not pinned" in str(error).lower():
                return False
            raise
        return True

    def _fetch(self, digest: bytes, options: dict) -> bytes:
        if digest not in self._pinned:
            if not self.is_pinned(digest):
                raise MissingObject(f"the stored object {cid_of(digest)} is not on this deployment's IPFS node: "
                                    "it was never stored here, or was removed")
            self._pinned.add(digest)
        try:
            return self._call(lambda: self._client.cat(cid_of(digest), timeout=self.fetch_timeout, **options))
        except Stalled:
            if self._answers():
                raise MissingObject(f"the stored object {cid_of(digest)} cannot be read from the IPFS node") from None
            raise

    def _answers(self) -> bool:
        try:
            self._client.version(timeout=2)
            return True
        except IpfsError:
            return False

    def _verify(self, digest: bytes, data: bytes) -> None:
        rehashed = self._call(lambda: self._client.add(io.BytesIO(data), only_hash=True, cid_version=0)["Hash"])
        if digest_of(rehashed) != digest:
            raise IntegrityError(f"the stored object {cid_of(digest)} is damaged: its bytes do not hash to its address")

    def _call(self, request):
        try:
            return request()
        except ipfshttpclient.exceptions.TimeoutError:
            raise Stalled(f"the IPFS node at {self.api_multiaddr} is not responding (it may be overloaded or "
                          "stalled); nothing is lost, try again shortly") from None
        except ipfshttpclient.exceptions.ConnectionError:
            raise ServiceUnavailable(
                f"the IPFS node at {self.api_multiaddr} cannot be reached; is it running?"
            ) from None
        except IpfsError as error:
            raise ServiceUnavailable(f"the IPFS node at {self.api_multiaddr} failed: {error}") from None


class Stalled(ServiceUnavailable):
    """The node accepted the connection but sent nothing within the time allowed."""


# Per node: digests this process knows to be pinned (stored or checked by it), so that a read
# needs no pin query.
_PINNED: dict[str, set[bytes]] = {}
