"""runnerfleet.spec"""
