"""runnerfleet.ops: the use cases, each taking its ports as arguments.

Imports nothing on purpose: the autoscaler and drain use cases are packaged into the Lambda
zip, which carries no pydantic and no ``runnerfleet.envfile``.
"""
