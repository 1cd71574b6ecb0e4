"""Count the GitLab jobs waiting for this fleet: pending jobs whose tags the fleet can run.

A job can run on a runner when the job's tags are a subset of the runner's tags; untagged jobs
only when the runner runs untagged jobs. Reads ``GET /projects/:id/jobs?scope[]=pending`` for
each configured project, all projects concurrently. Any failure gives ``count=None``
(unknown), so the queue policy falls back to metrics instead of seeing an empty queue: that
includes an answer of an unexpected shape (an object instead of a list, a job that is not an
object, ``tag_list`` that is not a list of strings), which a proxy or a GitLab change can give.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class PendingQuery:
    base_url: str  # e.g. https://gitlab.example.com (no /api/v4)
    project_ids: tuple[int, ...]
    tags: frozenset[str]
    run_untagged: bool = False
    per_page: int = 100
    max_pages: int = 10  # per project: a queue deeper than 1,000 is "a lot" either way
    timeout_s: float = 5.0


@dataclass(frozen=True, slots=True)
class PendingResult:
    count: int | None
    error: str | None = None


def job_matches(tag_list: Iterable[str], tags: frozenset[str], run_untagged: bool) -> bool:
    wanted = set(tag_list)
    return run_untagged if not wanted else wanted <= tags


async def count_pending(
    query: PendingQuery, token: str, client: httpx.AsyncClient | None = None
) -> PendingResult:
    """Pending jobs for the fleet's tags over all projects; never raises."""
    if not query.project_ids:
        return PendingResult(0)
    if client is None:
        async with httpx.AsyncClient(timeout=query.timeout_s, trust_env=False) as own:
            return await _count_with(own, query, token)
    return await _count_with(client, query, token)


def count_pending_sync(query: PendingQuery, token: str) -> PendingResult:
    return asyncio.run(count_pending(query, token))


async def _count_with(client: httpx.AsyncClient, query: PendingQuery, token: str) -> PendingResult:
    calls = [_count_project(client, query, token, pid) for pid in query.project_ids]
    try:
        async with asyncio.timeout(query.timeout_s * 3):
            counts = await asyncio.gather(*calls)
    except TimeoutError:
        return PendingResult(None, "GitLab did not list pending jobs in time")
    except (httpx.HTTPError, ValueError, RecursionError) as exc:
        return PendingResult(None, _describe(exc))
    return PendingResult(sum(counts))


async def _count_project(
    client: httpx.AsyncClient, query: PendingQuery, token: str, project_id: int
) -> int:
    url = f"{query.base_url.rstrip('/')}/api/v4/projects/{project_id}/jobs"
    total, page = 0, "1"
    for _ in range(query.max_pages):
        params = {"scope[]": "pending", "per_page": str(query.per_page), "page": page}
        response = await client.get(url, params=params, headers={"PRIVATE-TOKEN": token})
        response.raise_for_status()
        total += sum(_is_waiting(job, query) for job in _job_list(response.json()))
        page = response.headers.get("X-Next-Page", "")
        if not page:
            break
    return total


class UnexpectedShape(ValueError):
    """GitLab's answer is JSON, but not the list of jobs the API documents."""


def _job_list(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, list) or not all(isinstance(job, dict) for job in payload):
        raise UnexpectedShape("the job list is not a list of objects")
    return payload


def _is_waiting(job: dict[str, Any], query: PendingQuery) -> bool:
    tags = job.get("tag_list") or []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise UnexpectedShape("a job's tag_list is not a list of strings")
    status = job.get("status", "pending")
    return status == "pending" and job_matches(tags, query.tags, query.run_untagged)


def _describe(exc: Exception) -> str:
    # the token travels in a header; httpx messages carry the URL only, never headers
    if isinstance(exc, httpx.HTTPStatusError):
        return f"GitLab answered HTTP {exc.response.status_code} for {exc.request.url.path}"
    if isinstance(exc, UnexpectedShape):
        return f"GitLab's pending-job answer has an unexpected shape: {exc}"
    return f"GitLab unreachable: {type(exc).__name__}"
