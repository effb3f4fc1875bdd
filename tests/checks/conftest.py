"""Each check test gets its own dispatch store, so one test's alert never cools down the next one's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def fresh_dispatch_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_ALERTS_DATABASE_URL", f"sqlite:///{tmp_path}/alerts.db")
