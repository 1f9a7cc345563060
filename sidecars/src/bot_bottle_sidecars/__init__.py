"""bot-bottle sidecar bundle: egress proxy and the init that runs it."""
