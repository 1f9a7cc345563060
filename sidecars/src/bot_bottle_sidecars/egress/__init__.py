"""The egress proxy: a policy (:mod:`.policy`, pure), a mitmproxy addon (:mod:`.addon`)
and its launcher (:mod:`.run`, also ``python -m bot_bottle_sidecars.egress``)."""
