"""The sandbox twin: the deployed stack alive on 127.0.0.0/8 behind one AWS endpoint.

One process (``python -m runnerfleet.sandbox.twin``) hosts moto in-process behind the front
(``front``), the Auto Scaling model of every deployed group, and the world loop (``world``)
that turns model events into effects. ``process`` starts and stops it for the CLI.
"""
