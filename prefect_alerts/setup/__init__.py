"""Block set-up: the Prefect blocks prefect-alerts sends through and a default routing, from a ``.env`` file.

``prefect-alerts setup-blocks`` (and ``python blocks/setup_blocks.py``) runs :func:`main`. The parts, one
module each:

- ``settings.py``: every setting's flag and ``PREFECT_ALERTS_*`` variable, and precedence (flag, environment,
  ``.env``, default);
- ``envfile.py``: the ``.env`` parser (:func:`read_env_file`);
- ``validation.py``: one check per kind of value, each raising :class:`SetupError` without the value;
- ``plan.py``: every value checked into one :class:`SetupPlan` (:func:`plan_from_args`);
- ``save.py``: the blocks of a plan (:func:`planned_blocks`), saved only where they differ (:func:`save_blocks`);
- ``routing.py``: the default routing block (:func:`default_routing`);
- ``check.py``: ``--check``, a test alert through each destination (:func:`run_checks`);
- ``command.py``: the command line.

Example (needs a Prefect server):
    ```python
    from prefect_alerts.setup import main

    main(["--name", "ops", "--env-file", ".env", "--dry-run"])  # prints what it would save; 0
    ```
"""

from prefect_alerts.setup.check import CheckOutcome, existing_destinations, run_checks
from prefect_alerts.setup.command import build_parser, main, suggest_send_command, suggest_test_command
from prefect_alerts.setup.envfile import EnvEntry, EnvFile, EnvFileError, parse_env_text, read_env_file
from prefect_alerts.setup.plan import EmailSettings, SetupPlan, WebhookSettings, plan_from_args
from prefect_alerts.setup.routing import default_routing
from prefect_alerts.setup.save import BlockChange, PlannedBlock, planned_blocks, save_blocks
from prefect_alerts.setup.settings import SETTINGS, Setting
from prefect_alerts.setup.validation import SetupError, hide_values

__all__ = [
    "SETTINGS",
    "BlockChange",
    "CheckOutcome",
    "EmailSettings",
    "EnvEntry",
    "EnvFile",
    "EnvFileError",
    "PlannedBlock",
    "Setting",
    "SetupError",
    "SetupPlan",
    "WebhookSettings",
    "build_parser",
    "default_routing",
    "existing_destinations",
    "hide_values",
    "main",
    "parse_env_text",
    "plan_from_args",
    "planned_blocks",
    "read_env_file",
    "run_checks",
    "save_blocks",
    "suggest_send_command",
    "suggest_test_command",
]
