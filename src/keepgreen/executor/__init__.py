"""The executor: runs Zuul-style jobs (pre-run, run, post-run playbooks) with Ansible on
short-lived nodes, sandboxed, and says how each build ended and why.

Start with ``runner.Executor`` (or ``cli_entry.run_job`` for one job from a config); the
values it speaks are in ``model``; ``zuulvars`` builds the ``zuul`` variables and the
inventory; ``verdict`` holds Zuul's result rules.
"""
