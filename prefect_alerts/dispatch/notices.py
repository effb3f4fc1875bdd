"""System notices on the fallback destination: "Slack destination slack:oncall is dead: 404 no_service".

A notice goes straight to the fallback channel through ``deliver`` (the bottom of the path, so a notice never
loops back into the pipeline) and is itself deduped: one notice per dead destination per hour.
"""

from __future__ import annotations

from datetime import timedelta

from prefect_alerts.alert import Alert, Severity
from prefect_alerts.channels.base import Channel, get_logger
from prefect_alerts.dispatch.destinations import destination_key, load_reference
from prefect_alerts.dispatch.stage import Dispatch, Notification

__all__ = ["NOTICE_COOLDOWN", "notify_dead_destination"]

NOTICE_COOLDOWN = timedelta(hours=1)
"""At most one dead-destination notice per destination this often."""

logger = get_logger("prefect_alerts.dispatch")

_SERVICE_NAMES = {
    "slack": "Slack",
    "email": "Email",
    "pagerduty": "PagerDuty",
    "discord": "Discord",
    "webhook": "Webhook",
    "console": "Console",
}


def _service(destination: str) -> str:
    kind = destination.split(":", 1)[0].split("#", 1)[0].lower()
    return _SERVICE_NAMES.get(kind, kind.capitalize() or "Alert")


def notify_dead_destination(dispatch: Dispatch, notification: Notification, reason: str) -> None:
    """Tell the fallback destination that ``notification`` was dead-lettered (never raises)."""
    try:
        _notify(dispatch, notification, reason)
    except Exception:
        logger.exception("could not send the dead-destination notice for %s", notification.destination)


def _notify(dispatch: Dispatch, notification: Notification, reason: str) -> None:
    from prefect_alerts.delivery import deliver

    destination = notification.destination
    alert = notification.alert
    logger.error("alert %r is dead at %s: %s", alert.title[:80], destination, reason)
    fallback = dispatch.routing.fallback
    if fallback is None:
        return
    fallback_key = destination_key(fallback)
    if fallback_key == destination:
        logger.error("the fallback destination %s is the dead one; no notice can be sent", destination)
        return
    won, _ = dispatch.state.log.claim_firing(
        dedup_key=f"destination-dead:{destination}"[:255],
        destination=fallback_key,
        claim_id=f"{dispatch.alert_id}:{destination}"[:64],
        now=dispatch.clock(),
        cooldown=NOTICE_COOLDOWN,
        repeat_interval=NOTICE_COOLDOWN,
        route="fallback",
        flow_name=None,
        deployment_name=None,
    )
    if not won:
        return
    notice = Alert(
        title=f"{_service(destination)} destination {destination} is dead",
        message=(
            f"{_service(destination)} destination {destination} is dead: {reason}\n"
            f"The alert {alert.title!r} was not delivered there and is kept as a dead letter "
            "(`prefect-alerts outbox --dead` lists them). Fix the destination (block, URL, key), then "
            "re-send with `prefect-alerts send` or wait for the next alert."
        ),
        severity=Severity.ERROR,
        event="destination_dead",
        fields={"destination": destination, "alert": alert.title[:200], "dedup_key": alert.dedup_key},
        tags=["prefect-alerts", "system"],
        source=alert.source,
    )
    channel = fallback if isinstance(fallback, Channel) else load_reference(fallback)
    for result in deliver(notice, channel):
        if not result.ok:
            logger.error("the dead-destination notice to %s failed: %s", fallback_key, result.detail)
