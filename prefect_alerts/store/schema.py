"""The store's tables (SQLAlchemy Core): check history and results, and the dispatch pipeline's state."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, DateTime, Float, Index, Integer, MetaData, String, Table

__all__ = [
    "alert_history",
    "check_history",
    "check_results",
    "incidents",
    "metadata",
    "notification_log",
    "outbox",
    "silences",
    "sla_violations",
    "storm_groups",
    "storm_members",
    "storms",
    "sweeper_checkpoints",
    "sweeper_claims",
]

metadata = MetaData()

check_history = Table(
    "prefect_alerts_check_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("check_kind", String(64), nullable=False, doc="e.g. 'data_volume'"),
    Column(
        "check_name", String(255), nullable=False, doc="the user's key for this check, e.g. 'orders_rows'"
    ),
    Column("value", Float, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("flow_run_id", String(64), nullable=True),
    Index("ix_prefect_alerts_check_history_name", "check_kind", "check_name", "recorded_at"),
)
"""One numeric observation per check run (a row count), for baselines built from recent runs."""

check_results = Table(
    "prefect_alerts_check_results",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("check_kind", String(64), nullable=False),
    Column("check_name", String(255), nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("result", JSON, nullable=False, doc="the check's result model as JSON"),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("flow_run_id", String(64), nullable=True),
    Index("ix_prefect_alerts_check_results_name", "check_kind", "check_name", "recorded_at"),
)
"""Whole results of past runs (a model check's metrics, to serve as the next run's baseline)."""

# ---------------------------------------------------------------------------------------------------------
# The dispatch pipeline's tables (prefect_alerts.dispatch). Keys are strings so every dialect agrees.
# ---------------------------------------------------------------------------------------------------------
notification_log = Table(
    "prefect_alerts_notification_log",
    metadata,
    Column("dedup_key", String(255), primary_key=True),
    Column("destination", String(255), primary_key=True, doc="the destination's key, e.g. 'slack:oncall'"),
    Column("last_status", String(16), nullable=False, doc="'firing' or 'resolved': what was last notified"),
    Column("last_sent_at", DateTime(timezone=True), nullable=False),
    Column("last_firing_at", DateTime(timezone=True), nullable=True),
    Column("first_firing_at", DateTime(timezone=True), nullable=True),
    Column("suppressed", Integer, nullable=False, default=0, doc="repeats suppressed since the last send"),
    Column("repeats_at_claim", Integer, nullable=False, default=0, doc="'suppressed' when last claimed"),
    Column("claim_id", String(64), nullable=False, doc="the alert id of the send that claimed the row"),
    Column("severity_rank", Integer, nullable=False, default=0, doc="severity of the last firing notice"),
    Column("route", String(255), nullable=True),
    Column("flow_name", String(255), nullable=True),
    Column("deployment_name", String(255), nullable=True),
    Index("ix_prefect_alerts_notification_log_flow", "flow_name", "deployment_name", "last_status"),
)
"""The last state notified per dedup key and destination: the atomic claim behind dedupe and cooldown."""

outbox = Table(
    "prefect_alerts_outbox",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("alert_id", String(64), nullable=False),
    Column("dedup_key", String(255), nullable=False),
    Column("destination", String(255), nullable=False, doc="the destination's key"),
    Column("reference", String(512), nullable=True, doc="a channel reference such as 'slack:oncall'"),
    Column(
        "channel_spec", JSON, nullable=True, doc="Channel.describe() of a channel object (may hold secrets)"
    ),
    Column("mentions", JSON, nullable=True),
    Column("route", String(255), nullable=True),
    Column("alert", JSON, nullable=False),
    Column("status", String(16), nullable=False, doc="pending, delivering, delivered or dead"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, doc="dead-lettered when still undelivered"),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("last_error", String(2000), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Index("ix_prefect_alerts_outbox_due", "status", "next_attempt_at"),
    Index("ix_prefect_alerts_outbox_send", "alert_id"),  # the aggregator looks sends up by id
)
"""Deliveries not yet confirmed: attempts, Retry-After schedule, leases across processes, dead letters."""

silences = Table(
    "prefect_alerts_silences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("matchers", JSON, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("author", String(255), nullable=False),
    Column("comment", String(2000), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expired_at", DateTime(timezone=True), nullable=True),
    Index("ix_prefect_alerts_silences_active", "ends_at"),
)
"""Time-boxed, matcher-based silences (who, why, until when)."""

storm_groups = Table(
    "prefect_alerts_storm_groups",
    metadata,
    Column("group_key", String(255), primary_key=True, doc="route and group_by values, hashed"),
    Column("route", String(255), nullable=False),
    Column("labels", JSON, nullable=False, doc="the group_by values, e.g. {'flow': 'etl'}"),
    Column("window_started_at", DateTime(timezone=True), nullable=False),
    Column("alert_count", Integer, nullable=False, doc="alerts counted since window_started_at"),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("storm_id", String(64), nullable=True, doc="the storm in progress, if any"),
    Column("last_summary_at", DateTime(timezone=True), nullable=True),
    Column("summary_claim", String(64), nullable=True, doc="the alert id that claimed the last summary"),
)
"""One row per storm group: the atomic counter behind storm folding (one upsert per counted alert)."""

storms = Table(
    "prefect_alerts_storms",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("group_key", String(255), nullable=False),
    Column("route", String(255), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("since", DateTime(timezone=True), nullable=False, doc="the start of the window that stormed"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("destinations", JSON, nullable=False, doc="[{destination, reference}] the summaries went to"),
    Column("window_seconds", Float, nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Index("ix_prefect_alerts_storms_open", "closed_at"),
)
"""Every storm: where its summaries went, so the aggregator can send the closing one."""

storm_members = Table(
    "prefect_alerts_storm_members",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_key", String(255), nullable=False),
    Column("alert_id", String(64), nullable=False),
    Column("dedup_key", String(255), nullable=False),
    Column("storm_id", String(64), nullable=True, doc="the storm it was folded into; None: sent one by one"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("severity_rank", Integer, nullable=False),
    Column("event", String(64), nullable=False),
    Column("title", String(500), nullable=False),
    Column("flow_name", String(255), nullable=True),
    Column("flow_run_id", String(64), nullable=True),
    Column("error", String(500), nullable=True, doc="error type and the message's first line"),
    Column("link", String(2000), nullable=True),
    Index("ix_prefect_alerts_storm_members_group", "group_key", "created_at"),
    Index("ix_prefect_alerts_storm_members_key", "dedup_key", "created_at"),
)
"""The alerts counted in a storm group: what its summaries list."""

incidents = Table(
    "prefect_alerts_incidents",
    metadata,
    Column("flow_run_id", String(64), primary_key=True),
    Column("destination", String(255), primary_key=True, doc="the destination's key"),
    Column("incident_key", String(255), nullable=False, doc="the dedup key the first alert was sent with"),
    Column("opened_by", String(64), nullable=False, doc="the alert id of the run's first alert there"),
    Column("title", String(500), nullable=False, doc="the first alert's title"),
    Column("severity_rank", Integer, nullable=False, doc="the highest severity sent so far"),
    Column("previous_rank", Integer, nullable=False, doc="severity_rank before the last alert"),
    Column("alerts", Integer, nullable=False, doc="alerts of the run to this destination"),
    Column("run_failed", Boolean, nullable=False, doc="a task or flow failure of the run is in it"),
    Column("flow_name", String(255), nullable=True),
    Column("deployment_name", String(255), nullable=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_prefect_alerts_incidents_flow", "flow_name", "deployment_name", "run_failed"),
)
"""One incident per flow run and destination: the first alert pages, the later ones follow it."""

alert_history = Table(
    "prefect_alerts_alert_history",
    metadata,
    Column("id", String(64), primary_key=True, doc="the alert id of one send_alert call"),
    Column("dedup_key", String(255), nullable=False),
    Column("event", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("title", String(500), nullable=False),
    Column("flow_name", String(255), nullable=True),
    Column("deployment_name", String(255), nullable=True),
    Column("flow_run_id", String(64), nullable=True),
    Column("task_run_id", String(64), nullable=True),
    Column("destinations", JSON, nullable=False),
    Column("outcomes", JSON, nullable=False, doc="[{destination, status, reason, attempts}]"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("alert", JSON, nullable=False),
    Index("ix_prefect_alerts_alert_history_run", "flow_run_id"),
    Index("ix_prefect_alerts_alert_history_key", "dedup_key", "created_at"),
)
"""Every alert the pipeline handled: what it concerned (flow run, task run), where it went, how it ended."""

sweeper_checkpoints = Table(
    "prefect_alerts_sweeper_checkpoints",
    metadata,
    Column("name", String(64), primary_key=True, doc="what swept, e.g. 'runs'"),
    Column("swept_until", DateTime(timezone=True), nullable=False, doc="the end of the last closed window"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""How far the aggregator's sweeper has looked: the next window starts here (less the overlap)."""

sweeper_claims = Table(
    "prefect_alerts_sweeper_claims",
    metadata,
    Column("kind", String(32), primary_key=True, doc="'run' (a swept flow run) or 'queued' (a re-raise)"),
    Column("key", String(255), primary_key=True, doc="the flow run id, or '<alert id> <destination>'"),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("decision", String(32), nullable=False, doc="what the sweeper did: alerted, reported, reraised"),
    Column("alert_id", String(64), nullable=True, doc="the alert it sent, if any"),
    Column("detail", String(500), nullable=True),
    Index("ix_prefect_alerts_sweeper_claims_time", "claimed_at"),
)
"""What the sweeper decided per flow run and per re-raised alert: claimed once, so it never acts twice."""

sla_violations = Table(
    "prefect_alerts_sla_violations",
    metadata,
    Column(
        "key", String(255), primary_key=True, doc="'<rule key>:<subject>', e.g. 'a1b2c3:run:<flow run id>'"
    ),
    Column("rule_key", String(32), nullable=False),
    Column("subject", String(255), nullable=False, doc="run:<id>, flow:<name> or deployment:<flow>/<name>"),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_sent_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("alert", JSON, nullable=False, doc="the last violation alert sent (Alert.to_record())"),
    Index("ix_prefect_alerts_sla_violations_open", "closed_at"),
)
"""SLA violations the SLA monitor announced: open until the subject is back within the rule (then resolved)."""
