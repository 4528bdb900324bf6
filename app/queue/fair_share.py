"""Fair share between installations: the order in which the claim tries runnable jobs.

Pure: given the runnable jobs (oldest first) and how many jobs each installation has running,
`fair_order` interleaves installations round-robin, so one organisation with a thousand queued
issues cannot starve another with one: each installation's n-th job (counting those already
running) comes before any installation's (n+1)-th. Within an installation, jobs keep their age
order; between installations at the same depth, the older job goes first. With a
per-installation cap, jobs past the cap are left out. Jobs with no installation (tests, the
CLI) form one group of their own that no cap applies to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Runnable:
    """A queued job the claim could take."""

    job_id: int
    installation_id: int | None


def fair_order(
    runnable: Sequence[Runnable],
    running: Mapping[int | None, int],
    *,
    max_per_installation: int | None = None,
) -> list[int]:
    """The job ids of `runnable` in the order to try them (see the module's docstring).
    `runnable` must be oldest first (ascending job id); `running` counts running jobs by
    installation."""
    depth: dict[int | None, int] = {}
    ranked: list[tuple[int, int]] = []
    for job in sorted(runnable, key=lambda job: job.job_id):
        group = job.installation_id
        position = depth.get(group, running.get(group, 0))
        depth[group] = position + 1
        capped = max_per_installation is not None and group is not None
        if capped and max_per_installation is not None and position >= max_per_installation:
            continue
        ranked.append((position, job.job_id))
    return [job_id for _, job_id in sorted(ranked)]
