"""Serves the web app: `python -m scripts.serve [--host 127.0.0.1] [--port 5000]`, configured by
the CARECHAIN_* environment (see app/carechain/settings.py and the README). It refuses to start
unless the chain answers with the deployment manifest's chain id and contract code.

One process with threads: the users' unlocked keys live in this process's memory.
"""

import argparse
import sys
import threading

from waitress import create_server

from app import create_app
from app.carechain.errors import CareChainError
from app.carechain.flows import CareChain
from app.carechain.settings import Settings


def check_deployment(settings: Settings) -> None:
    """Raises ServiceUnavailable unless the chain and the manifest agree, for CareChain and for
    Research beside it (a manifest from before Research is refused in words)."""
    carechain = CareChain.connect(settings)
    try:
        carechain.research.chain.check_deployment()
    finally:
        carechain.close()


def serve(app, host: str, port: int):
    """Serves `app` on a waitress thread; returns the server (`close()` stops it)."""
    server = create_server(app, host=host, port=port, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    options = parser.parse_args(argv)
    settings = Settings.from_environment()
    try:
        check_deployment(settings)
    except CareChainError as error:
        print(f"refusing to start: {error}", file=sys.stderr)
        return 1
    server = serve(create_app({"CARECHAIN": settings}), options.host, options.port)
    print(f"serving CareChain on http://{options.host}:{options.port}/", flush=True)
    try:
        threading.Event().wait()  # serve until interrupted
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
