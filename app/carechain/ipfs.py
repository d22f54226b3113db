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

from app.carechain.errors import IntegrityError, ServiceUnavailable

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
    def __init__(self, api_multiaddr: str, timeout: float = 60):
        self.api_multiaddr = api_multiaddr
        # connect() would refuse js-ipfs's version number; the RPC calls used here all work.
        self._client = ipfshttpclient.Client(api_multiaddr, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def put(self, data: bytes) -> bytes:
        """Stores and pins `data`; returns its digest. Adding the same bytes again is harmless."""
        cid = self._call(lambda: self._client.add(io.BytesIO(data), pin=True, cid_version=0)["Hash"])
        return digest_of(cid)

    def get(self, digest: bytes) -> bytes:
        data = self._call(lambda: self._client.cat(cid_of(digest)), missing=digest)
        self._verify(digest, data)
        return data

    def get_prefix(self, digest: bytes, length: int) -> bytes:
        """The first `length` bytes, unverified (for reading an envelope's header)."""
        return self._call(lambda: self._client.cat(cid_of(digest), offset=0, length=length), missing=digest)

    def unpin(self, digest: bytes) -> None:
        """Drops the pin, so the node's next garbage collection frees the object."""
        try:
            self._client.pin.rm(cid_of(digest))
        except ipfshttpclient.exceptions.ErrorResponse as error:
            if "not pinned" not in str(error).lower():
                raise ServiceUnavailable(f"the IPFS node refused to unpin: {error}") from None
        except IpfsError as error:
            raise ServiceUnavailable(f"the IPFS node at {self.api_multiaddr} cannot be reached ({error})") from None

    def is_pinned(self, digest: bytes) -> bool:
        pins = self._call(lambda: self._client.pin.ls(type="recursive")["Keys"])
        return cid_of(digest) in pins

    def _verify(self, digest: bytes, data: bytes) -> None:
        rehashed = self._call(lambda: self._client.add(io.BytesIO(data), only_hash=True, cid_version=0)["Hash"])
        if digest_of(rehashed) != digest:
            raise IntegrityError(f"the stored object {cid_of(digest)} is damaged: its bytes do not hash to its address")

    def _call(self, request, missing: bytes | None = None):
        try:
            return request()
        except ipfshttpclient.exceptions.TimeoutError:
            if missing is not None:
                raise IntegrityError(f"the stored object {cid_of(missing)} cannot be found on the IPFS node") from None
            raise ServiceUnavailable(f"the IPFS node at {self.api_multiaddr} did not answer in time") from None
        except ipfshttpclient.exceptions.ConnectionError:
            raise ServiceUnavailable(
                f"the IPFS node at {self.api_multiaddr} cannot be reached; is it running?"
            ) from None
        except IpfsError as error:
            raise ServiceUnavailable(f"the IPFS node at {self.api_multiaddr} failed: {error}") from None
