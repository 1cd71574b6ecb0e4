"""runnerfleet: GitLab Runner fleets on Amazon EC2, from one environment file per environment."""

__version__ = "0.1.0"
