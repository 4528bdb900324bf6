"""`python -m tests.scripted_model --kind anthropic|openai --script FILE --port PORT`."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from .script import ScriptError, load_script
from .server import KINDS, running_model_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.scripted_model", description="Serve a scripted model on 127.0.0.1."
    )
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--script", required=True, help="YAML or JSON script file")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    try:
        script = load_script(args.script)
    except ScriptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with running_model_server(args.kind, script, port=args.port) as server:
        print(server.base_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
