"""runnerfleet.sandbox"""
