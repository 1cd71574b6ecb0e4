"""The report's figures, read as any client reads them: the group's activities and instances
through the twin's AWS endpoint (before the destroy), jobs, runners and managers through the
stand-in's REST API and the runner tokens in SSM (after it)."""

from __future__ import annotations

from runnerfleet.sandbox.demo_report import GitLabFigures, GroupFigures, percentile
from runnerfleet.sandbox.demo_steps import Run
from runnerfleet.sandbox.demo_twin import GroupWatch, capacity_changes, launches


def group_figures(run: Run, watch: GroupWatch) -> GroupFigures:
    activities = run.clients.activities(run.group)
    outs, ins = capacity_changes(activities)
    kinds: list[str] = []
    for kind in watch.types.values():  # instances in the order the watch first saw them
        if not kinds or kinds[-1] != kind:
            kinds.append(kind)
    return GroupFigures(
        group=run.group,
        launches=launches(activities),
        scale_outs=outs,
        scale_ins=ins,
        most_in_service=watch.most_in_service,
        types_seen=tuple(kinds),
        relaunched=run.relaunched,
    )


def gitlab_figures(run: Run) -> GitLabFigures:
    jobs = [j for p, pid in run.pipelines for j in run.clients.pipeline_jobs(p, pid)]
    waits = [float(j.get("queued_duration") or 0.0) for j in jobs]
    runners = run.clients.runners()
    managers = sum(len(run.clients.managers(int(r["id"]))) for r in runners)
    return GitLabFigures(
        gitlab_url=run.clients.gitlab_url,
        jobs=len(jobs),
        jobs_succeeded=sum(1 for j in jobs if j["status"] == "success"),
        jobs_killed=sum(1 for j in jobs if j["status"] in ("failed", "canceled")),
        wait_p50_s=percentile(waits, 0.5),
        wait_max_s=max(waits, default=0.0),
        runners_during=run.runners_seen,
        managers_most=run.managers_most,
        runners_left=len(runners),
        managers_left=managers,
        tokens_left=run.clients.tokens_left(run.files.stack),
        instances_left=len(run.clients.instances(run.group)),
    )
