"""The suite's three tiers, one marker each on every test (a pytest plugin module).

- ``system``: outside programs: the host programs (tests/hosts), the TypeScript clients
  (tests/tsclient), the OpenID provider (tests/oauth), the Inspector, Chromium and npm
  (tests/view), wheel builds and installed packages (tests/packaging), the benchmark, PostgreSQL
  and nginx.
- ``integration``: the gateway emulator on loopback, the MCP server in process or as our own
  subprocess.
- ``unit``: plain functions, nothing started.

A test is in the highest tier that its explicit marks, its folder or the fixtures it uses give
it: tests/server, tests/http and tests/emulator start the emulator or the server, so they are
integration at least. A tier mark in a test module may only raise its tier (``-m`` sees every
mark), which is why the modules that are integration for another reason are listed here.
``python3 dev.py test --quick`` runs ``-m "not system"``.

Under pytest-xdist (``--dist loadgroup``) every test also gets an ``xdist_group``: its module, so
module fixtures are built once, or the session resource it shares (the hosts' wheelhouse,
PostgreSQL), so a session fixture is built on one worker only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TIERS = ("unit", "integration", "system")
TESTS = Path(__file__).resolve().parent
SYSTEM_FOLDERS = frozenset(
    {"hosts", "tsclient", "inspector", "packaging", "bench", "oauth", "view"}
)
INTEGRATION_FOLDERS = frozenset({"server", "http", "emulator"})
# Modules outside those folders whose tests start something without a fixture saying so.
INTEGRATION_MODULES = {
    "test_cli_help.py": "runs the CLI as a subprocess",
    "jobs/test_journal.py": "journal files on disk",
    "jobs/test_journal_files.py": "journal files, and the CLI as a subprocess",
    "jobs/test_journal_concurrency.py": "journal writers in several processes",
    "jobs/test_journal_migrations.py": "journal files on disk",
}
# Session fixtures that start an outside program; their tests share one xdist worker.
SYSTEM_FIXTURES = {
    "postgres_url": "postgres",
    "fresh_postgres_url": "postgres",
    "wheelhouse": "wheelhouse",
}
INTEGRATION_FIXTURES = frozenset(
    {"emulator", "settings", "server", "client", "backend", "emulator_url", "http_url", "store"}
)


def _tier(item: pytest.Item) -> str:
    explicit = {m.name for m in item.iter_markers() if m.name in TIERS}
    return max(explicit | {_automatic_tier(item)}, key=TIERS.index)


def _automatic_tier(item: pytest.Item) -> str:
    path = Path(str(item.path)).resolve()
    inside = path.relative_to(TESTS) if path.is_relative_to(TESTS) else None
    folder = inside.parts[0] if inside else ""
    names = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    uses_postgres = callspec is not None and callspec.params.get("store") == "postgres"
    if folder in SYSTEM_FOLDERS or names & SYSTEM_FIXTURES.keys() or uses_postgres:
        return "system"
    module = inside.as_posix() if inside else ""
    if folder in INTEGRATION_FOLDERS or module in INTEGRATION_MODULES:
        return "integration"
    if names & INTEGRATION_FIXTURES:
        return "integration"
    return "unit"


def _group(item: pytest.Item) -> str:
    names = set(getattr(item, "fixturenames", ()))
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("store") == "postgres":
        return "postgres"
    if callspec is not None and callspec.params.get("form") == "uvx":  # tests/hosts' shell
        return "wheelhouse"
    for fixture, group in SYSTEM_FIXTURES.items():
        if fixture in names:
            return group
    return Path(str(item.path)).resolve().relative_to(TESTS.parent).as_posix()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "xdist_group(name): tests that share one xdist worker")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = _tier(item)
        if not item.get_closest_marker(tier):
            item.add_marker(getattr(pytest.mark, tier))
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(_group(item)))
