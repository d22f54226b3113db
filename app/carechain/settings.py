"""Where the library finds the chain, the deployment, the IPFS node and the keystores.

Defaults are the local services of `make run` (the chain of ganache.json, the IPFS node's port
below); each can be overridden from the environment, which
is how the same code runs against a consortium chain and a kubo node or IPFS Cluster proxy:

    CARECHAIN_RPC_URL       JSON-RPC endpoint of the chain
    CARECHAIN_MANIFEST      deployment manifest written by scripts/deploy.py
    CARECHAIN_IPFS_API      multiaddr of an /api/v0 endpoint, e.g. /dns/ipfs.internal/tcp/5001/http
    CARECHAIN_KEYSTORES     folder of the encrypted keystores
    CARECHAIN_DIRECTORY     JSON file of the providers' names (public, off chain)
    CARECHAIN_STORAGE_QUOTA_MB  storage per patient on the IPFS node (default 1024)
    CARECHAIN_VITALS_WINDOW_MINUTES  how many minutes of device readings one record holds (default 15)

The server's own small state files (the rotation journal, storage usage) live beside the keystores
folder, in `data`.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from app.carechain.quota import DEFAULT_QUOTA

ROOT = Path(__file__).resolve().parents[2]
LOCAL_CHAIN_CONFIG = ROOT / "ganache.json"  # the local chain's settings, in Ganache's option names
LOCAL_IPFS_API_PORT = 5002  # the local IPFS node's /api/v0 (scripts/localipfs.py starts it)
VITALS_WINDOW_SECONDS = 15 * 60  # device readings of one window share one record (one transaction)


def rpc_url(chain_config: dict) -> str:
    """The JSON-RPC endpoint of a chain run with these Ganache settings."""
    server = chain_config.get("server", {})
    return f"http://{server.get('host', '127.0.0.1')}:{server.get('port', 8545)}"


def chain_id(chain_config: dict) -> int:
    return int(chain_config["chain"]["chainId"])


@dataclass(frozen=True)
class Settings:
    rpc_url: str
    manifest: Path
    ipfs_api: str
    keystores: Path
    directory: Path
    storage_quota: int = DEFAULT_QUOTA  # bytes per patient
    index: str = ""  # the event index's SQLite file (a path or sqlite:///path); default data/index.sqlite
    vitals_window: int = VITALS_WINDOW_SECONDS

    @property
    def data(self) -> Path:
        """The folder of the server's own state: the keystores' parent."""
        return self.keystores.parent

    @property
    def index_file(self) -> Path:
        return Path(self.index.removeprefix("sqlite:///")) if self.index else self.data / "index.sqlite"

    @classmethod
    def from_environment(cls, environ=os.environ) -> "Settings":
        chain = json.loads(LOCAL_CHAIN_CONFIG.read_text())
        return cls(
            rpc_url=environ.get("CARECHAIN_RPC_URL", rpc_url(chain)),
            manifest=Path(environ.get("CARECHAIN_MANIFEST", ROOT / "deployments" / f"{chain_id(chain)}.json")),
            ipfs_api=environ.get("CARECHAIN_IPFS_API", f"/ip4/127.0.0.1/tcp/{LOCAL_IPFS_API_PORT}/http"),
            keystores=Path(environ.get("CARECHAIN_KEYSTORES", ROOT / "data" / "keystores")),
            directory=Path(environ.get("CARECHAIN_DIRECTORY", ROOT / "data" / "providers.json")),
            storage_quota=int(environ.get("CARECHAIN_STORAGE_QUOTA_MB", DEFAULT_QUOTA >> 20)) << 20,
            index=environ.get("CARECHAIN_INDEX", ""),
            vitals_window=int(environ.get("CARECHAIN_VITALS_WINDOW_MINUTES", VITALS_WINDOW_SECONDS // 60)) * 60,
        )

    def to_environment(self) -> dict[str, str]:
        """The variables `from_environment` reads these settings back from (for a child process)."""
        return {
            "CARECHAIN_RPC_URL": self.rpc_url,
            "CARECHAIN_MANIFEST": str(self.manifest),
            "CARECHAIN_IPFS_API": self.ipfs_api,
            "CARECHAIN_KEYSTORES": str(self.keystores),
            "CARECHAIN_DIRECTORY": str(self.directory),
            "CARECHAIN_STORAGE_QUOTA_MB": str(self.storage_quota >> 20),
            "CARECHAIN_INDEX": self.index,
            "CARECHAIN_VITALS_WINDOW_MINUTES": str(self.vitals_window // 60),
        }
