"""runnerfleet.gitlab"""
