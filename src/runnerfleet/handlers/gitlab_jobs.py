"""The few GitLab job calls the spot handler needs, over urllib (no extra Lambda dependency).

The token is read at run time from an SSM SecureString and only ever sent to the configured
GitLab URL: job URLs parsed from the instance's output are matched against it, never followed.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import quote

from runnerfleet.drain import JobRef, JobView


class GitLabJobs:
    def __init__(self, base_url: str, token: str, *, timeout_s: float = 10.0) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout_s

    def owns(self, ref: JobRef) -> bool:
        return ref.url.startswith(self._base + "/")

    def job(self, ref: JobRef) -> JobView:
        data = self._call("GET", ref, "")
        return JobView(ref, str(data.get("status", "")), data.get("failure_reason"))

    def cancel(self, ref: JobRef) -> None:
        self._call("POST", ref, "/cancel")

    def retry(self, ref: JobRef) -> int:
        return int(self._call("POST", ref, "/retry").get("id", 0))

    def _call(self, method: str, ref: JobRef, suffix: str) -> dict[str, Any]:
        project = quote(ref.project, safe="")
        url = f"{self._base}/api/v4/projects/{project}/jobs/{ref.job_id}{suffix}"
        if not url.startswith(("https://", "http://")):
            raise ValueError("GitLab URL must be http(s)")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url, method=method, headers={"PRIVATE-TOKEN": self._token}
        )
        with urllib.request.urlopen(request, timeout=self._timeout) as resp:  # noqa: S310
            body = resp.read()
        loaded = json.loads(body) if body else {}
        return loaded if isinstance(loaded, dict) else {}
