"""SLA rules written as tags on a deployment or a flow, beside the routing file's ``slas:``.

A team that owns a deployment can state its SLA where the deployment is defined (``prefect.yaml``'s ``tags:``,
``flow.deploy(tags=...)``) without editing the shared routing file:

    sla:time_to_completion=1h        stuck: still running an hour after it started
    sla:lateness=10m                 late: not started 10 minutes after its schedule
    sla:frequency=1d                 stale: no Completed run for a day
    sla:max_failures=2/1d            more than 2 failed or crashed runs in a day (the window defaults to 1d)
    sla:success_rate=0.95/7d         under 95% of finished runs completed over 7 days (default 7d)

Any of them may end in ``@warning`` (or another severity; default error). A tag on a deployment covers that
deployment; a tag on a flow covers every run of the flow. A tag that does not parse is reported, naming the
deployment, the tag and the form expected; the others still apply.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from pydantic import ValidationError

from prefect_alerts.routing.sla import SLA_CLASSES, SlaRule

__all__ = ["TAG_PREFIX", "rule_from_tag", "rules_from_tags"]

TAG_PREFIX = "sla:"
_TAG = re.compile(r"^sla:(?P<type>[a-z_]+)=(?P<limit>[^@\s]+)(?:@(?P<severity>[a-z]+))?$")
_FORMS = {
    "time_to_completion": "sla:time_to_completion=1h",
    "lateness": "sla:lateness=10m",
    "frequency": "sla:frequency=1d",
    "max_failures": "sla:max_failures=2/1d",
    "success_rate": "sla:success_rate=0.95/7d",
}


def _limits(kind: str, limit: str) -> dict[str, Any]:
    if kind == "time_to_completion":
        return {"duration": limit}
    if kind == "lateness":
        return {"within": limit}
    if kind == "frequency":
        return {"stale_after": limit}
    count, _, window = limit.partition("/")
    key = "max_failures" if kind == "max_failures" else "min_success_rate"
    number: Any = count
    with contextlib.suppress(ValueError):  # a number, as YAML would give it (95 reads as "write 0.95")
        number = float(count) if kind == "success_rate" else int(count)
    values: dict[str, Any] = {key: number}
    if window:
        values["window"] = window
    return values


def rule_from_tag(tag: str, *, flow_name: str, deployment_name: str | None = None) -> SlaRule:
    """The rule ``tag`` states for one deployment (or, without ``deployment_name``, for the whole flow).

    Raises:
        ValueError: the tag does not parse; the message names it and the form expected.

    >>> rule_from_tag("sla:lateness=10m@warning", flow_name="etl", deployment_name="nightly").title
    'lateness 10m on deployment etl/nightly'
    """
    match = _TAG.match(tag.strip())
    kind = match.group("type") if match else tag.removeprefix(TAG_PREFIX).partition("=")[0]
    if match is None or kind not in SLA_CLASSES:
        forms = ", ".join(_FORMS.values())
        raise ValueError(f"SLA tag {tag!r} is not one of the forms {forms} (optionally ending in @warning)")
    scope: dict[str, Any] = (
        {"deployment": f"{flow_name}/{deployment_name}"} if deployment_name else {"flow": flow_name}
    )
    try:
        return SLA_CLASSES[kind].model_validate(
            {
                "type": kind,
                **scope,
                **_limits(kind, match.group("limit")),
                **({"severity": match.group("severity")} if match.group("severity") else {}),
            }
        )
    except ValidationError as exc:
        problem = "; ".join(error["msg"] for error in exc.errors())
        raise ValueError(f"SLA tag {tag!r}: {problem} (write it as {_FORMS[kind]})") from None


def rules_from_tags(api: Any) -> tuple[list[SlaRule], dict[str, str]]:
    """Every rule the server's deployments and flows state in ``sla:`` tags, and the tags that did not parse
    (by ``deployment flow/name`` or ``flow name``, with the reason).

    ``api`` is the SLA monitor's :class:`~prefect_alerts.monitoring.sla_checks.SlaApi` (its reads are retried).
    """
    rules: list[SlaRule] = []
    problems: dict[str, str] = {}
    for deployment in api.deployments():
        tags = [tag for tag in deployment.tags or [] if tag.startswith(TAG_PREFIX)]
        if not tags:
            continue
        flow_name = api.flow_name(deployment.flow_id)
        for tag in tags:
            try:
                rules.append(rule_from_tag(tag, flow_name=flow_name, deployment_name=deployment.name))
            except ValueError as exc:
                problems[f"deployment {flow_name}/{deployment.name}: {tag}"] = str(exc)
    for flow in api.flows():
        for tag in [tag for tag in getattr(flow, "tags", None) or [] if tag.startswith(TAG_PREFIX)]:
            try:
                rules.append(rule_from_tag(tag, flow_name=flow.name))
            except ValueError as exc:
                problems[f"flow {flow.name}: {tag}"] = str(exc)
    return rules, problems
