"""Work the site has waiting, as the operator's metrics show it (forum/web/metrics.py)."""
from __future__ import annotations

from datetime import datetime

from forum.services import Services
from forum.store import metrics as metrics_store


async def backlog(svc: Services) -> dict:
    """jobs (scheduler jobs waiting), oldest_job_seconds (how long the oldest has waited, 0
    without one), mail_queued, mail_failed (given up on, waiting for an admin), newest_event."""
    async with svc.db.read() as conn:
        row = await metrics_store.backlog(conn)
    oldest = row["oldest_job"]
    age = ((svc.clock() - datetime.fromisoformat(oldest.replace("Z", "+00:00"))).total_seconds()
           if oldest else 0.0)
    return {"jobs": int(row["jobs"]), "oldest_job_seconds": max(0.0, age), "mail_queued": int(row["mail_queued"]),
            "mail_failed": int(row["mail_failed"]), "newest_event": int(row["newest_event"])}
