"""``python -m prefect_alerts.demo [--output DIR]``: the same as ``prefect-alerts demo``."""

from __future__ import annotations

import os
import sys


def _main() -> int:
    from prefect_alerts.demo import CHILD_ENV

    if os.environ.get(CHILD_ENV) == "1":
        from prefect_alerts.demo.run import main

        return main(sys.argv[1:])
    import argparse
    from pathlib import Path

    from prefect_alerts.demo import DEFAULT_OUTPUT, launch

    parser = argparse.ArgumentParser(prog="python -m prefect_alerts.demo")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return launch(parser.parse_args().output)


if __name__ == "__main__":
    sys.exit(_main())
