"""``prefect-alerts demo``: the whole of prefect-alerts on one machine, no credentials needed, in under 2 minutes.

It starts an embedded Prefect server (or uses the one ``PREFECT_API_URL`` names, and says so), local stand-ins
for Slack, PagerDuty, Discord, a webhook receiver and an SMTP server, saves blocks pointing at them, then runs
a churn model's pipeline (ingest, data quality, drift, train/evaluate, predict) with ``with_alerts`` attached
through one routing file: a normal night, a drifting one, failures (a sync and an async flow), a timeout, a
stuck run that breaches its SLA and is then killed with no hook to tell, and the night everything recovers;
the SLA monitor and the aggregator do their part; ``send_alert`` sends one alert of each severity everywhere.
It prints what each stand-in received, grouped by service, and writes it into ``./demo-output/``.

The demo runs in a child process whose environment it sets before Prefect is imported: Prefect's home in a
temporary folder (your ``~/.prefect`` and profiles are left alone), a store of its own
(``PREFECT_ALERTS_DATABASE_URL``), logging at WARNING, no ``PREFECT_ALERTS_CONFIG``.

Example:
    ```python
    from pathlib import Path

    from prefect_alerts.demo import launch

    exit_code = launch(Path("demo-output"))  # what `prefect-alerts demo` runs
    ```
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

__all__ = ["CHILD_ENV", "DEFAULT_OUTPUT", "STARTED_ENV", "demo_environment", "launch"]

CHILD_ENV = "PREFECT_ALERTS_DEMO_CHILD"
"""Set in the demo's own process, whose environment :func:`demo_environment` prepared."""
STARTED_ENV = "PREFECT_ALERTS_DEMO_STARTED"
"""When the command started (Unix time): the elapsed time the demo prints includes starting its process."""
DEFAULT_OUTPUT = Path("demo-output")


def demo_environment(environ: Mapping[str, str], home: str) -> dict[str, str]:
    """The environment the demo runs in: ``environ`` with Prefect's home and the store under ``home``.

    ``PREFECT_API_URL`` is kept when set (the demo then uses that server); otherwise the demo starts its own.

        >>> env = demo_environment({"PREFECT_ALERTS_CONFIG": "alerts.yaml"}, "/tmp/demo-home")
        >>> env["PREFECT_ALERTS_DATABASE_URL"], "PREFECT_ALERTS_CONFIG" in env
        ('sqlite:////tmp/demo-home/prefect_alerts.db', False)
    """
    from prefect_alerts.store.engine import DATABASE_URL_ENV, SQLITE_FILENAME

    env = dict(environ)
    env["PREFECT_HOME"] = home
    env[DATABASE_URL_ENV] = f"sqlite:///{Path(home) / SQLITE_FILENAME}"  # never the team's shared store
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["PREFECT_LOGGING_LEVEL"] = "WARNING"
    env.pop("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", None)  # the demo turns the per-run heartbeat off itself
    env.pop("PREFECT_ALERTS_CONFIG", None)  # the demo's flows name their routing file
    if not env.get("PREFECT_API_URL", "").strip():
        env.pop("PREFECT_API_URL", None)
    env[CHILD_ENV] = "1"
    return env


def launch(output: Path = DEFAULT_OUTPUT) -> int:
    """Run the demo in a child process with :func:`demo_environment`; its exit code (0: every stand-in received
    what it should have). Prefect's temporary home is removed afterwards."""
    started = time.time()
    home = tempfile.mkdtemp(prefix="prefect-alerts-demo-")
    env = demo_environment(os.environ, home)
    env[STARTED_ENV] = repr(started)
    try:
        return subprocess.call(
            [sys.executable, "-m", "prefect_alerts.demo", "--output", str(output)], env=env
        )
    except KeyboardInterrupt:
        return 130
    finally:
        shutil.rmtree(home, ignore_errors=True)
