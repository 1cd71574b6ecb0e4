"""CloudWatch names the autoscaler publishes; the template builds its dashboard and alarms.

Every metric carries both dimensions in ``DIMENSIONS`` (values: the stack name and the Auto
Scaling group name). The decision's reason is published as one metric per reason code
(``decision_metric(code)``, value 1 when that code was part of the decision, else absent).
"""

from __future__ import annotations

from runnerfleet.scaling.types import ReasonCode

NAMESPACE = "Runnerfleet/Autoscaler"

DIM_STACK = "StackName"
DIM_ASG = "AutoScalingGroupName"
DIMENSIONS = (DIM_STACK, DIM_ASG)

RUNNING_JOBS = "RunningJobs"  # sum of gitlab_runner_jobs{state="running"} over fresh scrapes
PENDING_JOBS = "PendingJobs"  # GitLab queue for the fleet's tags (only when known)
SLOT_CAPACITY = "SlotCapacity"  # job slots in service or booting
IDLE_SLOTS = "IdleSlots"  # slot capacity minus running jobs
DESIRED_CAPACITY = "DesiredCapacity"  # the group's desired capacity after the decision
IN_SERVICE = "InServiceInstances"
BOOTING = "BootingInstances"  # Pending, Pending:Wait, Pending:Proceed
WARM_POOL = "WarmPoolInstances"  # Warmed:* (stopped, ready to move in)
SCRAPE_FAILURES = "ScrapeFailures"  # InService instances whose /metrics could not be read
TERMINATED = "InstancesTerminated"  # idle instances removed by this evaluation
EVALUATION_SECONDS = "EvaluationSeconds"  # wall time of one evaluation

COUNT_METRICS = (
    RUNNING_JOBS,
    PENDING_JOBS,
    SLOT_CAPACITY,
    IDLE_SLOTS,
    DESIRED_CAPACITY,
    IN_SERVICE,
    BOOTING,
    WARM_POOL,
    SCRAPE_FAILURES,
    TERMINATED,
)
SECONDS_METRICS = (EVALUATION_SECONDS,)

DECISION_PREFIX = "Decision"


def decision_metric(code: ReasonCode) -> str:
    """Metric name for one reason code, e.g. ``DecisionAtMaxSize``."""
    return f"{DECISION_PREFIX}{code.value}"


DECISION_METRICS = tuple(decision_metric(code) for code in ReasonCode)

# Suggested alarms (metric, statistic, threshold, periods of 60 s): the template may use these.
ALARM_AT_MAX_WITH_QUEUE = (decision_metric(ReasonCode.AT_MAX), "Maximum", 1, 15)
ALARM_SCRAPE_FAILURES = (SCRAPE_FAILURES, "Minimum", 1, 10)
ALARM_PENDING_JOBS = (PENDING_JOBS, "Minimum", 1, 15)
