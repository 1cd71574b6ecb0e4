"""runnerfleet.aws"""
