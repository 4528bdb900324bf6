"""Links into the dashboard from outside it: a check run's Details link is its session's page,
when the dashboard has a public URL (`AUTOCODER_PUBLIC_URL`)."""

from __future__ import annotations


def session_page_url(public_url: str | None, job_id: int) -> str | None:
    """`{public_url}/jobs/{job_id}`, or None without a public URL (GitHub then shows its own)."""
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}/jobs/{job_id}"
