"""The ``setup-blocks`` command line (``prefect-alerts setup-blocks``, ``python blocks/setup_blocks.py``).

Exit status: 0 when every block is saved (or unchanged, or the dry run is clean), 2 for a bad or missing value
(nothing saved), 1 when the Prefect server refused or could not be reached, or a ``--check`` delivery failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

from prefect_alerts.setup.envfile import EnvFile, read_env_file
from prefect_alerts.setup.plan import SetupPlan, plan_from_args
from prefect_alerts.setup.settings import SETTINGS, environment_values, setting_for_env
from prefect_alerts.setup.validation import SetupError, hide_values

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FAILED",
    "EXIT_OK",
    "build_parser",
    "main",
    "suggest_send_command",
    "suggest_test_command",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
DEFAULT_ENV_FILE = ".env"

_GROUPS = {
    "names": "Names",
    "slack": "Slack (prefect-slack's slack-incoming-webhook block; one per route that has its own webhook)",
    "email": "Email (email-server-credentials + alert-email-destination)",
    "pagerduty": "PagerDuty (pagerduty-events-v2)",
    "discord": "Discord (Prefect's discord-webhook block)",
    "webhook": "Generic webhook (alert-webhook)",
}
_DESCRIPTION = (
    "Create or update the Prefect blocks prefect-alerts sends through, and a default alert-routing block. "
    "Values come from flags, else the environment, else a .env file (./.env when it exists); every value is "
    "checked before anything is saved, and none is ever printed. Blocks whose saved values are the same are "
    "left untouched, so running it twice changes nothing. Webhook URLs must be https:// with a host and a path; "
    "http:// is accepted only for localhost, 127.0.0.1 and ::1 (local tests and demos)."
)
_EPILOG = (
    "Block names: Slack NAME (the shared webhook) and NAME-critical, NAME-warning, NAME-info (a route's own); "
    "every other block NAME; the routing alert-routing/ROUTING_BLOCK. Exit status: 0 saved or unchanged, "
    "2 bad input (nothing saved), 1 the server failed or a --check delivery failed. See blocks/README.md."
)


class _ValueHidingParser(argparse.ArgumentParser):
    """argparse quotes the offending argument in its errors; under a mistyped flag that may be a secret."""

    _argv: Sequence[str] = ()

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        self._argv = list(sys.argv[1:] if args is None else args)
        return super().parse_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {hide_values(message, self._argv)}\n")


def _metavar(flag: str) -> str:
    for ending, metavar in (
        ("url", "URL"),
        ("key", "KEY"),
        ("port", "PORT"),
        ("server", "HOST"),
        ("from", "ADDRESS"),
        ("to", "ADDRESS"),
    ):
        if ending in flag.split("-")[-2:]:
            return metavar
    return flag.rsplit("-", 1)[-1].upper()


def build_parser(prog: str = "setup_blocks.py") -> argparse.ArgumentParser:
    """The command line; every value flag also reads a ``PREFECT_ALERTS_*`` variable (see ``--help``).

    >>> build_parser().parse_args(["--name", "ops"]).name
    'ops'
    """
    parser = _ValueHidingParser(prog=prog, description=_DESCRIPTION, epilog=_EPILOG, allow_abbrev=False)
    run = parser.add_argument_group("What to do")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument(
        "--dry-run", action="store_true", help="check every value and print what would be saved; save nothing"
    )
    mode.add_argument(
        "--check",
        action="store_true",
        help="after saving, send a test alert through each destination and report each (exit 1 if any "
        "failed); with no values given, checks the blocks already saved under --name",
    )
    files = run.add_mutually_exclusive_group()
    files.add_argument(
        "--env-file",
        default=None,
        metavar="PATH",
        help="read settings from this file (default: ./.env if it exists)",
    )
    files.add_argument("--no-env-file", action="store_true", help="do not read ./.env")
    run.add_argument("--no-routing", action="store_true", help="do not save the default routing block")
    run.add_argument(
        "--overwrite-routing",
        action="store_true",
        help="replace the routing block even if it was customised (by default only one setup-blocks wrote is)",
    )
    groups = {key: parser.add_argument_group(title) for key, title in _GROUPS.items()}
    for setting in SETTINGS:
        parts = [setting.help]
        if setting.default:
            parts.append(f"default {setting.default}")
        if setting.env_var:
            parts.append(f"env {setting.env_var}")
        options: dict[str, Any] = {"dest": setting.dest, "default": None, "help": "; ".join(parts)}
        if setting.kind == "bool":
            options["action"] = "store_true"
        else:
            options["metavar"] = _metavar(setting.flag)
            if setting.kind == "list":
                options["action"] = "append"
        if setting.choices:
            options["choices"] = setting.choices
            options.pop("metavar")
        groups[setting.group].add_argument(setting.flag, **options)
    return parser


def suggest_test_command(kinds: Sequence[str], name: str) -> str:
    """The ``prefect-alerts send`` command that tries every channel just set up.

    >>> suggest_test_command(["pagerduty", "email"], "ops")
    "prefect-alerts send 'prefect-alerts is set up' -c pagerduty:ops -c email:ops"
    """
    return suggest_send_command([f"{kind}:{name}" for kind in kinds])


def suggest_send_command(destinations: Sequence[str]) -> str:
    """The ``prefect-alerts send`` command that tries these destinations.

    >>> suggest_send_command(["slack:ops-critical", "email:ops"])
    "prefect-alerts send 'prefect-alerts is set up' -c slack:ops-critical -c email:ops"
    """
    return "prefect-alerts send 'prefect-alerts is set up' " + " ".join(f"-c {ref}" for ref in destinations)


def _env_file(args: argparse.Namespace, err: TextIO) -> EnvFile | None:
    if args.no_env_file:
        return None
    if args.env_file is None and not Path(DEFAULT_ENV_FILE).is_file():
        return None
    env_file = read_env_file(args.env_file or DEFAULT_ENV_FILE)
    for warning in env_file.warnings:
        print(f"warning: {warning}", file=err)
    import difflib

    known = [setting.env_var for setting in SETTINGS if setting.env_var]
    for key, entry in env_file.entries.items():
        if key.startswith("PREFECT_ALERTS_") and setting_for_env(key) is None:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.85)
            if close:
                print(
                    f"warning: {env_file.label} line {entry.line}: {key} is not a setup variable; did you mean "
                    f"{close[0]}?",
                    file=err,
                )
    return env_file


def _print_routing(routing: Any, out: TextIO) -> None:
    for line in routing.describe().splitlines():
        print(f"  {line}", file=out)


def _run_checks(destinations: list[str], out: TextIO) -> int:
    from prefect_alerts.setup.check import run_checks

    print(f"Sending a test alert through {len(destinations)} destination(s):", file=out)
    outcomes = run_checks(destinations)
    for outcome in outcomes:
        print(f"  {outcome}", file=out)
    failed = [outcome for outcome in outcomes if not outcome.ok]
    if failed:
        print(f"{len(failed)} of {len(outcomes)} destination(s) failed the check", file=out)
        return EXIT_FAILED
    print(f"every destination ({len(outcomes)}) delivered the test alert", file=out)
    return EXIT_OK


def _check_existing(plan: SetupPlan, out: TextIO, err: TextIO) -> int:
    from prefect_alerts.setup.check import existing_destinations

    try:
        destinations = existing_destinations(plan.name)
    except Exception as exc:  # the server is down; its message is not shown (it may quote a URL)
        print(
            f"setup-blocks: could not read the saved blocks ({type(exc).__name__}); check PREFECT_API_URL",
            file=err,
        )
        return EXIT_FAILED
    if not destinations:
        print(
            f"setup-blocks: no blocks are saved under {plan.name!r} to check; give values (see --help) or --name",
            file=err,
        )
        return EXIT_BAD_INPUT
    return _run_checks(destinations, out)


def _save(plan: SetupPlan, dry_run: bool, out: TextIO, err: TextIO) -> int:
    """Save (or in a dry run, compare) every block and the routing; the exit status."""
    from prefect_alerts.setup.routing import planned_routing
    from prefect_alerts.setup.save import BlockChange, planned_blocks, save_blocks

    blocks = planned_blocks(plan)
    routing_part = planned_routing(plan)
    if routing_part is not None:
        blocks.append(routing_part[0])
    by_label = {block.label: block for block in blocks}
    settled: list[BlockChange] = []

    def report(change: BlockChange) -> None:
        settled.append(change)
        line = change.line(dry_run=dry_run)
        if dry_run and change.action == "create":
            line += ": " + ", ".join(by_label[change.label].shown())
        print(line, file=out)

    try:
        save_blocks(blocks, dry_run=dry_run, on_change=report)
    except Exception as exc:  # the server is down or refused; its message may hold what we sent, so not shown
        if dry_run:
            print(
                f"could not compare with the saved blocks ({type(exc).__name__}; is PREFECT_API_URL right?); "
                "every value is valid, and these would be saved:",
                file=err,
            )
            for block in blocks[len(settled) :]:
                print(f"would save {block.label}: {', '.join(block.shown())}", file=out)
            return EXIT_OK
        done = [change.label for change in settled if change.action in ("create", "update")]
        saved = f" (saved before it: {', '.join(done)})" if done else " (nothing was saved)"
        print(
            f"setup-blocks: saving failed with {type(exc).__name__}{saved}; check that PREFECT_API_URL points at "
            "a running Prefect server (`prefect config view`), then run this again",
            file=err,
        )
        return EXIT_FAILED
    if routing_part is not None:
        routing_change = settled[-1] if settled and settled[-1].label == routing_part[0].label else None
        if routing_change is not None and routing_change.action in ("create", "update"):
            what = "the routing it would save" if dry_run else "the routing saved"
            print(f"{what} ({routing_part[0].label}):", file=out)
            _print_routing(routing_part[1], out)
        if not dry_run and routing_change is not None and routing_change.action != "keep":
            from prefect_alerts.routing.resolve import forget_block

            forget_block(routing_part[0].name)
            problems = routing_part[1].check_destinations()
            for problem in problems:
                print(f"setup-blocks: routing problem: {problem}", file=err)
            if problems:
                return EXIT_FAILED
    if dry_run:
        print("dry run: nothing was saved", file=out)
    return EXIT_OK


def main(
    argv: Sequence[str] | None = None,
    *,
    prog: str = "setup_blocks.py",
    command: str = "prefect-alerts setup-blocks",
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the set-up: 0 saved or unchanged, 2 bad or missing values (nothing saved), 1 saving or a check failed.

    ``prog`` names the command in usage and errors; ``command`` is how the closing hint spells it.

    >>> main(["--name", "Bad Name"])  # doctest: +SKIP
    2
    """
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = build_parser(prog).parse_args(argv)
    try:
        env_file = _env_file(args, err)
        plan = plan_from_args(args, environment_values(), env_file)
    except SetupError as exc:
        print(f"setup-blocks: nothing was saved:\n{exc}", file=err)
        return EXIT_BAD_INPUT
    if env_file is not None:
        used = sum(1 for key in env_file.entries if setting_for_env(key) is not None)
        print(
            f"read {used} setting(s) from {env_file.label} (the environment and flags win over it)", file=out
        )
    if not plan.kinds():
        if args.check:
            return _check_existing(plan, out, err)
        print("Nothing to save: pass at least one channel's values (see --help).", file=err)
        return EXIT_BAD_INPUT
    status = _save(plan, args.dry_run, out, err)
    if status != EXIT_OK or args.dry_run:
        return status
    if args.check:
        return _run_checks(plan.destinations(), out)
    name = "" if plan.name == "prefect-alerts" else f" --name {plan.name}"
    print(f"Test every destination: {command} --check{name} (a test alert through each)", file=out)
    print(f"Send a test alert: {suggest_send_command(plan.destinations())}", file=out)
    if "pagerduty" in plan.kinds():
        print("(the PagerDuty test opens a real incident: resolve it in PagerDuty afterwards)", file=out)
    return EXIT_OK
