"""bot-bottle backend that runs each bottle in a smolvm microVM.

What is here: finding the CLI (:mod:`.binary`), the typed calls (:mod:`.smolvm_cli`),
the bundle's port slots (:mod:`.leases`), and listing and cleanup
(:mod:`.listing`). Starting a bottle is not yet: the core reports this backend as
unable to ``prepare`` until ``launch`` exists.

The shape ``launch`` must keep, and why:

* The sidecar bundle runs as a container on the host with its own outbound
  network; it publishes egress, git-gate and supervise on ``127.0.0.1`` at the
  bottle's leased ports. The VM is created with ``--outbound-localhost-only``
  and reaches them through the gateway ``100.96.0.1`` (smolvm maps it to the
  host's ``127.0.0.1`` on the same port).
* That gateway reaches every port of the host's loopback, other bottles'
  bundles included: smolvm filters by address, not by port. So a bundle must
  not trust a connection for coming from loopback; each of its listeners needs
  a per-bottle secret the VM is given at start (proxy authorization for egress,
  a token for git-gate and supervise), and the boundary self-check must show a
  neighbour's ports refusing this bottle.
"""
