"""The git gate: the agent's only way to its repositories.

The agent clones, fetches and pushes ``http://git-gate/<name>.git`` (smart HTTP,
served by ``git http-backend`` over a mirror kept here). The gate fetches from and
pushes to the upstream over SSH with a key only it holds, and checks every pushed
ref update (protected branches, force pushes, protected paths) before it goes
upstream; the mirror's refs move only once the upstream took the push.
"""
