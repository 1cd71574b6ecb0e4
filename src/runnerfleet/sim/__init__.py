"""runnerfleet.sim"""
