"""runnerfleet.scaling"""
