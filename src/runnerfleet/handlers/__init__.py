"""runnerfleet.handlers"""
