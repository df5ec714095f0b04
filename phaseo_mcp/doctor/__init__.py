"""``phaseo-mcp doctor``: check the setup and say how to fix each problem.

Most failures users hit are wiring, not bugs: an environment that never reached the server, a
relative or unwritable output folder, a ``${...}`` template the client did not substitute, a key
for the wrong gateway. Each check names the variable involved and prints a fix.

``static.py`` holds the checks that need no network, ``probe.py`` the one request to the
gateway, ``journal.py`` the journal and cost ceiling rows, ``table.py`` the rendering,
``settings_error.py`` the report when the settings cannot be built, ``run.py`` the order.
"""

from phaseo_mcp.doctor.run import run_doctor
from phaseo_mcp.doctor.settings_error import report_settings_error

__all__ = ["report_settings_error", "run_doctor"]
