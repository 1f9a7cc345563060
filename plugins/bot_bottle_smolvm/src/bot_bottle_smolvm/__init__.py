"""bot-bottle backend that runs each bottle in a smolvm microVM.

What is here: finding the CLI (:mod:`.binary`), the typed calls (:mod:`.smolvm_cli`),
the bundle's port slots (:mod:`.leases`), the bundle on Docker (:mod:`.bundle`,
:mod:`.bundles_on_docker`), listing and cleanup across machines, leases and bundles
(:mod:`.listing`), and the launch (:mod:`.launch`) up to the boundary: it builds,
starts the bundle and the VM, waits for the guest, then refuses to hand the bottle
over and removes everything, because the boundary self-check cannot run in a VM
yet.

The shape the rest of ``launch`` must keep, and why:

* The sidecar bundle runs as a container on the host with its own outbound
  network; it publishes egress and supervise (git-gate to come) on ``127.0.0.1``
  at the bottle's leased ports. The VM is created with ``--outbound-localhost-only``
  and reaches them through the gateway ``100.96.0.1`` (smolvm maps it to the
  host's ``127.0.0.1`` on the same port).
* That gateway reaches every port of the host's loopback, other bottles'
  bundles and any service of the host's bound there included: smolvm filters by
  address, not by port. So a bundle must not trust a connection for coming from
  loopback; each of its listeners needs a per-bottle secret the VM is given at
  start (proxy authorization for egress, a token for git-gate and supervise), and
  the boundary self-check must show a neighbour's ports and the host's own
  loopback services refusing this bottle. ``--mount-socket`` (a host Unix socket
  inside a VM without any network) would close that gap, at the price of a relay
  inside the guest; it is the alternative to weigh first.
* Values given with ``-e`` are on the host's process list while ``create`` runs;
  anything sensitive goes with ``--secret-env`` (resolved on the host at each start).
"""
