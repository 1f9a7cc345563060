"""``exec`` source (codex 0.171's JavaScript tool) running a shell command for the model.

In a gVisor bottle, codex now and then loses a command it spawns: the command
runs and exits, but its ``exec_command`` never returns (about 3 in 100 calls
with runsc 2022-12-19; none in 480 under runc; nested in ``exec`` or called
directly alike). A live command always answers within ``exec_command``'s own
yield time (10 s), so one silent for longer is stuck: the source asks again, as
a model would, in the same cell. A command may thus run twice; the scripted
turns only ever run ones that can.
"""

from __future__ import annotations

import json

STUCK_MS = 15_000  # past exec_command's 10 s yield: the call is lost, not slow
TRIES = 3
# The cell must not yield to the model while the tries are still running.
CELL_YIELD_MS = STUCK_MS * TRIES + 15_000


def shell(command: str) -> str:
    """``exec`` source running ``command`` in the bottle; its output is the cell's text."""
    call = f"tools.exec_command({json.dumps({'cmd': command})})"
    stuck = f"new Promise((ok) => setTimeout(() => ok(null), {STUCK_MS}))"
    return (
        f'// @exec: {{"yield_time_ms": {CELL_YIELD_MS}}}\n'
        "let r = null;\n"
        f"for (let i = 0; i < {TRIES} && r === null; i++)\n"
        f"  r = await Promise.race([{call}, {stuck}]);\n"
        "text(r.output);"
    )
