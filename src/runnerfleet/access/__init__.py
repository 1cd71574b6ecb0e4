"""runnerfleet.access"""
