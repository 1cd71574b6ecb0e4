"""runnerfleet.drain"""
