"""Record storage on IPFS through the standard /api/v0 RPC (js-ipfs here; kubo or an IPFS Cluster
proxy elsewhere). Objects are addressed on chain by the 32-byte sha2-256 digest of their CIDv0.

Everything stored is pinned. Fetched bytes are hashed again before use, so a damaged or
substituted block in the node's store is reported, not returned. The hashing is done here, without
a round trip: a CIDv0 is the sha2-256 of a dag-pb node wrapping the UnixFS data (see `cid_digest`);
only bytes whose digest this does not reproduce are hashed again by the node (`add --only-hash`).
"""

import hashlib
import io
import logging
import threading
import warnings

import base58
import ipfshttpclient
from ipfshttpclient.exceptions import Error as IpfsError

from app.carechain.errors import IntegrityError, MissingObject, ServiceUnavailable

SHA2_256_PREFIX = b"\x12\x20"  # multihash: sha2-256, 32 bytes
# How `ipfs add` lays out a file by default for CIDv0 (kubo and js-ipfs alike): fixed chunks of
# 256 KiB, each a dag-pb leaf holding a UnixFS File node, under a balanced tree of parents with at
# most 174 links each.
CHUNK_SIZE = 262_144
GC_TIMEOUT = 5  # seconds a rotation waits for the node's garbage collection
GC_LIMIT = 900  # seconds one collection may take: a large store's mark and sweep is slow
MAX_LINKS = 174
log = logging.getLogger(__name__)
# ipfshttpclient 0.7.0 passes urllib3 an argument that urllib3 2 deprecates; harmless, and not ours.
warnings.filterwarnings("ignore", message="The 'strict' parameter is no longer needed", category=FutureWarning)


def cid_of(digest: bytes) -> str:
    return base58.b58encode(SHA2_256_PREFIX + digest).decode()


def digest_of(cid: str) -> bytes:
    multihash = base58.b58decode(cid)
    if len(multihash) != 34 or not multihash.startswith(SHA2_256_PREFIX):
        raise ValueError(f"{cid} is not a CIDv0 with a sha2-256 digest")
    return multihash[2:]


def cid_digest(data: bytes) -> bytes:
    """The sha2-256 digest of the CIDv0 that `ipfs add` (default chunker and layout, CIDv0) gives
    `data`, computed here."""
    chunks = [data[i:i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)] or [b""]
    # (digest, cumulative size of the subtree's blocks, file bytes under it)
    level = [_node(_unixfs(chunk, len(chunk)), []) + (len(chunk),) for chunk in chunks]
    while len(level) > 1:
        level = [_parent(level[i:i + MAX_LINKS]) for i in range(0, len(level), MAX_LINKS)]
    return level[0][0]


def _parent(children: list[tuple[bytes, int, int]]) -> tuple[bytes, int, int]:
    size = sum(file_size for _, _, file_size in children)
    digest, block_size = _node(_unixfs(b"", size, [file_size for _, _, file_size in children]),
                               [(digest, tree_size) for digest, tree_size, _ in children])
    return digest, block_size + sum(tree_size for _, tree_size, _ in children), size


def _node(unixfs: bytes, links: list[tuple[bytes, int]]) -> tuple[bytes, int]:
    """(sha2-256 digest, byte size) of a dag-pb node: its links (hash, empty name, tree size)
    first, then its data."""
    encoded = b"".join(_bytes(2, _bytes(1, SHA2_256_PREFIX + digest) + _bytes(2, b"") + _uint(3, tree_size))
                       for digest, tree_size in links) + _bytes(1, unixfs)
    return hashlib.sha256(encoded).digest(), len(encoded)


def _unixfs(data: bytes, file_size: int, block_sizes: list[int] = ()) -> bytes:
    """A UnixFS `File` message: type, data (if any), file size, the children's sizes."""
    return (_uint(1, 2) + (_bytes(2, data) if data else b"") + _uint(3, file_size)
            + b"".join(_uint(4, size) for size in block_sizes))


def _uint(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, value: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(value)) + value


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


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

    def collect_garbage(self, wait: float = GC_TIMEOUT) -> bool:
        """Deletes every unpinned block from the node's store (after a rotation: the old
        ciphertext is then really gone from this node). A collection marks every pinned object and
        sweeps the rest, which takes a while on a large store, and runs only when no other request
        holds the store, so it runs in the background (see `_Collector`): this call waits at most
        `wait` seconds for it and says whether it finished by then."""
        return _Collector.of(self).run(wait)

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
        """The bytes must hash to `digest`: computed here, or, for bytes laid out otherwise than
        `cid_digest` knows (another node's settings), or damaged, by the node itself."""
        if cid_digest(data) == digest:
            return
        rehashed = self._call(lambda: self._client.add(io.BytesIO(data), only_hash=True, cid_version=0)["Hash"])
        if digest_of(rehashed) == digest:
            log.info("%s: a layout not reproduced locally; verified by the node", cid_of(digest))
        else:
            raise IntegrityError(
                f"the stored object {cid_of(digest)} is damaged: its bytes do not hash to its address")

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


class _Collector:
    """One per node: garbage collections in a background thread, one at a time. A collection
    asked for while one runs is run once more after it, as the running one may have marked blocks
    unpinned since it began."""

    _collectors: dict[str, "_Collector"] = {}
    _guard = threading.Lock()

    @classmethod
    def of(cls, store: "IpfsStore") -> "_Collector":
        with cls._guard:
            return cls._collectors.setdefault(store.api_multiaddr, cls(store.api_multiaddr))

    def __init__(self, api_multiaddr: str):
        self._client = ipfshttpclient.Client(api_multiaddr, timeout=GC_LIMIT)
        self._lock = threading.Lock()
        self._asked = 0  # collections asked for
        self._done = 0  # of those, how many a finished collection covers
        self._running = False
        self._finished = threading.Condition(self._lock)

    def run(self, wait: float) -> bool:
        with self._lock:
            self._asked += 1
            ticket = self._asked
            if not self._running:
                self._running = True
                threading.Thread(target=self._collect, name="ipfs-gc", daemon=True).start()
            if not self._finished.wait_for(lambda: self._done >= ticket, timeout=wait):
                log.warning("the IPFS node's garbage collection did not finish within %s s; it goes on in the "
                            "background", wait)
                return False
            return True

    def _collect(self) -> None:
        while True:
            with self._lock:
                covered = self._asked
            try:
                self._client.repo.gc(quiet=True)
            except IpfsError as error:
                log.warning("the IPFS node's garbage collection failed (%s); the next one frees the blocks", error)
            with self._lock:
                self._done = covered
                self._finished.notify_all()
                if self._asked == covered:
                    self._running = False
                    return


class Stalled(ServiceUnavailable):
    """The node accepted the connection but sent nothing within the time allowed."""


# Per node: digests this process knows to be pinned (stored or checked by it), so that a read
# needs no pin query.
_PINNED: dict[str, set[bytes]] = {}
