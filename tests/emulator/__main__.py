"""`python -m tests.emulator --port 8765 [--state-dir DIR]`: serve the emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from .server import EmulatorServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--state-dir", type=Path, default=None, help="where bare repos live")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    server = EmulatorServer(
        host=args.host, port=args.port, state_dir=args.state_dir, log_level=args.log_level
    )
    print(server.base_url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
