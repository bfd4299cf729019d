"""The server runtime: the background jobs a leading worker runs, wired in one place.

``Runtime`` (``jobs.py``) builds every job of a node and runs each under ``watch``; the API
edge reaches the jobs only through ``RuntimePort`` (``port.py``), which the leader's
``Runtime``, a non-leader's ``WakeForwarder`` and an unstarted app's ``NoJobs`` implement.
"""

from parley.node.runtime.jobs import Job, Runtime
from parley.node.runtime.port import HandOver, LogFeed, NoJobs, RuntimePort, WakeForwarder
from parley.node.runtime.watch import FailedJob, FailedJobs, watch

__all__ = [
    "FailedJob",
    "FailedJobs",
    "HandOver",
    "Job",
    "LogFeed",
    "NoJobs",
    "Runtime",
    "RuntimePort",
    "WakeForwarder",
    "watch",
]
