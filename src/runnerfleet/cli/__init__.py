"""runnerfleet.cli"""
