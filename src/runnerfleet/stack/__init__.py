"""runnerfleet.stack"""
