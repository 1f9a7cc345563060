"""``bot-bottle dashboard``: the operator's terminal UI.

Two panes, refreshed every second without blocking the UI: the proposals the
bottles' agents are waiting on (identical requests of several bottles grouped
into one row) and the running bottles of every available backend. Every action
goes through the functions the CLI commands use; nothing here decides what a
proposal, a start or a stop does.

* :mod:`.model`: what one refresh gathers (a :class:`~.model.Snapshot`);
* :mod:`.gather`: gathering it (run in a worker thread);
* :mod:`.supervising`: the one adapter into :mod:`bot_bottle_core.supervision`;
* :mod:`.bottles`: start, attach and stop through the lifecycle commands' functions;
* :mod:`.once`: ``--once`` and ``--json``;
* :mod:`.tmux`: the right-hand pane and bringing the dashboard forward;
* :mod:`.app`, :mod:`.panes`, :mod:`.detail`, :mod:`.pickers`: the Textual UI.
"""
