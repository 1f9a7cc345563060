"""supervise: the MCP server through which the agent asks the operator for more access.

* :mod:`.config`: its settings, from the bundle's environment;
* :mod:`.asks`: checking a tool call and turning it into a proposal (pure);
* :mod:`.waiting`: waiting for the operator's answer, and for egress to serve it;
* :mod:`.server`: the MCP server (the ``mcp`` SDK, streamable HTTP at ``/mcp``);
  ``python -m bot_bottle_sidecars.supervise`` runs it.

Only :mod:`.server` needs the SDK; the rest is importable anywhere.
"""
