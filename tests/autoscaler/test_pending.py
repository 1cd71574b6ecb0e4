"""Pending-job counting against a tiny fake GitLab (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from runnerfleet.gitlab.pending import PendingQuery, count_pending, job_matches

TOKEN = "glpat-test-not-a-secret"


def _job(jid: int, tags: list[str], status: str = "pending") -> dict[str, Any]:
    return {"id": jid, "status": status, "tag_list": tags, "name": f"job{jid}"}


PROJECTS: dict[int, list[dict[str, Any]]] = {
    1: [_job(n, ["docker", "linux"]) for n in range(150)]  # two pages at per_page=100
    + [_job(900, ["gpu"]), _job(901, [])],
    2: [_job(1000, ["docker"]), _job(1001, ["docker"], status="running")],
}


def _fake_gitlab(request: httpx.Request) -> httpx.Response:
    if request.headers.get("PRIVATE-TOKEN") != TOKEN:
        return httpx.Response(401, json={"message": "401 Unauthorized"})
    assert request.url.params.get("scope[]") == "pending"
    pid = int(request.url.path.split("/")[4])
    if pid not in PROJECTS:
        return httpx.Response(404, json={"message": "404 Project Not Found"})
    page, per = int(request.url.params["page"]), int(request.url.params["per_page"])
    jobs = PROJECTS[pid]
    chunk = jobs[(page - 1) * per : page * per]
    more = page * per < len(jobs)
    return httpx.Response(200, json=chunk, headers={"X-Next-Page": str(page + 1) if more else ""})


def _count(query: PendingQuery, token: str = TOKEN) -> tuple[int | None, str | None]:
    async def run() -> tuple[int | None, str | None]:
        transport = httpx.MockTransport(_fake_gitlab)
        async with httpx.AsyncClient(transport=transport) as client:
            result = await count_pending(query, token, client)
        return result.count, result.error

    return asyncio.run(run())


def _query(projects: tuple[int, ...] = (1, 2), untagged: bool = False) -> PendingQuery:
    return PendingQuery(
        "https://gitlab.test", projects, frozenset({"docker", "linux"}), run_untagged=untagged
    )


def test_job_matching_follows_runner_tag_rules() -> None:
    fleet = frozenset({"docker", "linux"})
    assert job_matches(["docker"], fleet, False)
    assert not job_matches(["docker", "gpu"], fleet, False)
    assert not job_matches([], fleet, False) and job_matches([], fleet, True)


def test_counts_matching_pending_jobs_across_pages_and_projects() -> None:
    assert _count(_query()) == (151, None)  # 150 on two pages + 1; gpu, running ignored
    assert _count(_query(untagged=True)) == (152, None)


def test_failures_mean_unknown_not_zero_and_never_leak_the_token() -> None:
    count, error = _count(_query(), token="glpat-wrong-token-value")
    assert count is None and error is not None and "401" in error
    assert "glpat" not in error
    count, error = _count(_query(projects=(1, 77)))
    assert count is None and "404" in (error or "")


def test_no_projects_means_empty_queue() -> None:
    assert _count(_query(projects=())) == (0, None)


@pytest.mark.parametrize(
    "payload",
    [
        {"message": "jobs"},  # an object instead of a list
        [{"id": 1, "status": "pending", "tag_list": 5}],
        [{"id": 1, "status": "pending", "tag_list": [5]}],
        ["job"],
        [[{"id": 1}]],
        "[" * 50_000 + "]" * 50_000,  # nested beyond the parser's recursion limit
        "not json",
    ],
    ids=["object", "tag-int", "tag-list-of-int", "string-job", "nested-list", "deep", "text"],
)
def test_unexpected_shapes_mean_queue_unknown(payload: Any) -> None:
    def odd_gitlab(request: httpx.Request) -> httpx.Response:
        if isinstance(payload, str):
            return httpx.Response(200, text=payload, headers={"Content-Type": "application/json"})
        return httpx.Response(200, json=payload)

    async def run() -> tuple[int | None, str | None]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(odd_gitlab)) as client:
            result = await count_pending(_query(), TOKEN, client)
        return result.count, result.error

    count, error = asyncio.run(run())
    assert count is None and error
    assert TOKEN not in error
