"""Command line: ``phaseo-mcp [serve] | emulator | demo | doctor | journal check|prune``.

Without a subcommand the stdio MCP server starts (what desktop clients spawn). Heavy modules
are imported inside each subcommand so ``--help`` and ``--version`` stay instant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from phaseo_mcp import __version__

if TYPE_CHECKING:
    from phaseo_mcp.config import Settings

EPILOG = """\
examples:
  phaseo-mcp                                  run the stdio server (what MCP clients spawn)
  phaseo-mcp serve --transport http --port 8000
                                              serve streamable HTTP on 127.0.0.1:8000/mcp
  PHASEO_MCP_AUTH_TOKENS=tok phaseo-mcp serve --transport http --host 0.0.0.0 \\
      --allowed-host mcp.example.com          behind a proxy, with a bearer token
  phaseo-mcp emulator --port 8787             a local gateway emulator (no key, no network)
  phaseo-mcp demo                             create -> wait -> download against the emulator
  phaseo-mcp doctor                           check the setup and say how to fix it
  phaseo-mcp journal check                    is the job journal intact and writable?
  phaseo-mcp journal prune --older-than 30    forget journal entries older than 30 days

configuration (environment): PHASEO_API_KEY (or --api-key-file), PHASEO_BASE_URL,
PHASEO_OUTPUT_DIR, PHASEO_STATE_DIR, PHASEO_JOURNAL_URL, PHASEO_LOG_LEVEL, PHASEO_MAX_COST_USD,
PHASEO_CONFIRM_ABOVE_USD, PHASEO_REQUIRE_CONFIRMATION, PHASEO_MEDIA_ORIGINS and
PHASEO_INLINE_VIDEO_MAX_MB (inline player), PHASEO_MCP_AUTH_TOKENS, PHASEO_MCP_STATE_KEYS,
PHASEO_PUBLIC_URL, PHASEO_WEBHOOK_SECRET, PHASEO_WEBHOOK_ENDPOINT_ID, PHASEO_WEBHOOK_POLL_FACTOR,
PHASEO_AUTH, PHASEO_OAUTH_ISSUER, PHASEO_OAUTH_SCOPES, PHASEO_DAILY_BUDGET_USD (HTTP transport).
"""


SERVE_EXAMPLES = """\
examples:
  phaseo-mcp serve                            stdio (the same as plain phaseo-mcp)
  phaseo-mcp serve --transport http --port 8000
                                              streamable HTTP on 127.0.0.1:8000/mcp
  PHASEO_MCP_AUTH_TOKENS=tok phaseo-mcp serve --transport http --host 0.0.0.0 \\
      --allowed-host mcp.example.com          behind a proxy, with a bearer token
  PHASEO_MCP_AUTH_TOKENS=tok PHASEO_JOURNAL_URL=postgresql://... \\
      phaseo-mcp serve --transport http --stateless --multi-user
                                              one of several replicas; each user sends
                                              their own key in X-Phaseo-Api-Key
  PHASEO_AUTH=oauth PHASEO_OAUTH_ISSUER=https://login.example.com \
      phaseo-mcp serve --transport http --host 0.0.0.0 --public-url https://mcp.example.com
                                              people sign in with the team's identity
                                              provider; one gateway key, each kept apart
"""
DEMO_EXAMPLES = """\
examples:
  phaseo-mcp demo                             save the demo video in the default videos folder
  phaseo-mcp demo --output-dir ./out          save it in ./out instead

No key and no network: an emulator of the gateway runs inside the demo.
"""
DOCTOR_EXAMPLES = """\
examples:
  phaseo-mcp doctor                           check the settings in this environment
  PHASEO_API_KEY=... phaseo-mcp doctor        check a key before putting it in a client config
  phaseo-mcp doctor --api-key-file ~/.phaseo-key --output-dir ~/Videos/phaseo

Exit status 0 only when every check passes; each failure comes with its fix.
"""
JOURNAL_EXAMPLES = """\
examples:
  phaseo-mcp journal check                    is the job journal intact and writable?
  phaseo-mcp journal prune --older-than 30    forget entries older than 30 days
"""
CHECK_EXAMPLES = """\
examples:
  phaseo-mcp journal check                    check the journal in the default state folder
  phaseo-mcp journal check --state-dir /srv/phaseo/state

Exit status 0 when the journal is intact and writable (or does not exist yet), 1 otherwise.
A damaged journal is never changed: move it aside and a fresh one starts on next use.
"""
PRUNE_EXAMPLES = """\
examples:
  phaseo-mcp journal prune                    forget entries older than 30 days
  phaseo-mcp journal prune --older-than 0     forget every entry (they hold prompts)
  PHASEO_JOURNAL_URL=postgresql://... phaseo-mcp journal prune --older-than 7
"""


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--api-key-file", type=Path, help="read PHASEO_API_KEY from this file")
    p.add_argument("--base-url", help="gateway base URL (PHASEO_BASE_URL)")
    p.add_argument("--output-dir", type=Path, help="where videos are saved (PHASEO_OUTPUT_DIR)")
    p.add_argument("--state-dir", type=Path, help="where the job journal lives (PHASEO_STATE_DIR)")
    p.add_argument("--journal-url", help="postgresql://… journal shared by replicas")
    p.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR (PHASEO_LOG_LEVEL)")
    p.add_argument("--max-cost-usd", type=float, help="refuse creates estimated above this")
    p.add_argument(
        "--confirm-above-usd",
        metavar="USD|off",
        help="ask the user (host dialog) before creates estimated at or above this; 0 = every "
        "priced job, off = never (PHASEO_CONFIRM_ABOVE_USD, default 0.50)",
    )
    p.add_argument(
        "--require-confirmation",
        action="store_const",
        const=True,
        help="refuse those creates on hosts that cannot ask (PHASEO_REQUIRE_CONFIRMATION)",
    )
    p.add_argument(
        "--auth", choices=["tokens", "oauth"], help="HTTP sign-in: oauth = the team's provider"
    )
    p.add_argument("--public-url", help="this server's external https:// base (PHASEO_PUBLIC_URL)")


def _add_serve(p: argparse.ArgumentParser) -> None:
    _add_common(p)
    p.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--path", default="/mcp")
    p.add_argument("--stateless", action="store_true", help="no sessions (replicas)")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME", help="repeatable")
    p.add_argument(
        "--server-files", action="store_true", help="over HTTP, default to saving on this host"
    )
    p.add_argument("--multi-user", action="store_true", help="per-request X-Phaseo-Api-Key")
    p.add_argument(
        "--server-files-quota",
        metavar="SIZE",
        help="with --server-files: bytes each owner may keep, e.g. 10GiB; 0 = unlimited "
        "(PHASEO_SERVER_FILES_QUOTA, default 10GiB)",
    )
    p.add_argument(
        "--max-sessions-per-caller",
        type=int,
        metavar="N",
        help=(
            "open HTTP sessions per key, token or signed-in person "
            "(PHASEO_MCP_MAX_SESSIONS_PER_CALLER, default 20)"
        ),
    )
    p.add_argument(
        "--session-idle-timeout",
        type=float,
        metavar="SECONDS",
        help="close HTTP sessions idle this long (PHASEO_MCP_SESSION_IDLE_TIMEOUT, default 600)",
    )
    p.add_argument(
        "--insecure-no-auth", action="store_true", help="allow a non-loopback bind with no token"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phaseo-mcp",
        description="MCP server for the Phaseo gateway's video API.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"phaseo-mcp {__version__}")
    _add_serve(parser)
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser(
        "serve",
        help="run the MCP server (stdio by default)",
        epilog=SERVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_serve(serve)
    sub.add_parser(
        "emulator",
        help="run the local gateway emulator (see: phaseo-mcp emulator --help)",
        add_help=False,
    )
    demo = sub.add_parser(
        "demo",
        help="create, wait and download a video against the emulator",
        epilog=DEMO_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--output-dir", type=Path, help="where the demo saves its video")
    doctor = sub.add_parser(
        "doctor",
        help="check the configuration and say how to fix it",
        epilog=DOCTOR_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(doctor)
    journal = sub.add_parser(
        "journal",
        help="manage the local job journal",
        epilog=JOURNAL_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    jsub = journal.add_subparsers(dest="journal_command", required=True)
    check = jsub.add_parser(
        "check",
        help="report whether the job journal is intact and writable",
        epilog=CHECK_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(check)
    prune = jsub.add_parser(
        "prune",
        help="remove old journal entries (they hold prompts)",
        epilog=PRUNE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(prune)
    prune.add_argument("--older-than", type=float, default=30.0, metavar="DAYS")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    # config (pydantic) is imported on use: at the top it would add ~0.3 s (measured with
    # `python -X importtime -m phaseo_mcp --version`: 0.46 s cumulative, cold) to --version
    # and --help. The same holds for every function-local import in this module.
    from phaseo_mcp.config import Settings

    api_key: str | None = None
    if getattr(args, "api_key_file", None):
        try:
            api_key = args.api_key_file.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise SystemExit(f"phaseo-mcp: cannot read --api-key-file: {exc.strerror}") from None
    return Settings.from_env(
        api_key=api_key,
        base_url=getattr(args, "base_url", None),
        output_dir=getattr(args, "output_dir", None),
        state_dir=getattr(args, "state_dir", None),
        journal_url=getattr(args, "journal_url", None),
        log_level=(args.log_level.upper() if getattr(args, "log_level", None) else None),
        max_cost_usd=getattr(args, "max_cost_usd", None),
        confirm_above_usd=getattr(args, "confirm_above_usd", None),
        require_confirmation=getattr(args, "require_confirmation", None),
        auth=getattr(args, "auth", None),
        public_url=getattr(args, "public_url", None),
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        from phaseo_mcp.emulator.__main__ import main as emulator_main

        return emulator_main(argv[1:])
    args = build_parser().parse_args(argv)
    command = args.command or "serve"
    if command == "demo":
        from phaseo_mcp.demo import run_demo

        return run_demo(output_dir=args.output_dir)
    if command == "doctor":
        from phaseo_mcp.doctor import report_settings_error, run_doctor

        try:
            settings = _settings(args)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError too
            return report_settings_error(exc)
        return run_doctor(settings)
    from phaseo_mcp.config import startup_problems

    try:
        settings = _settings(args)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError too
        return _refuse(_settings_message(exc))
    if problems := startup_problems(settings):
        return _refuse(" ".join(problems))
    if command == "journal":
        from phaseo_mcp.journal_cli import run_journal_command

        answer = run_journal_command(args, settings)
        print(answer.line, file=sys.stderr if answer.to_stderr else sys.stdout)
        return answer.status
    from phaseo_mcp.server.run import serve

    return serve(settings, args)


def _settings_message(exc: ValueError) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        return "; ".join(str(item["msg"]).removeprefix("Value error, ") for item in exc.errors())
    return str(exc)


def _refuse(message: str) -> int:
    """A configuration the server must not start with: one clear line, no traceback."""
    print(f"phaseo-mcp: invalid configuration: {message}", file=sys.stderr)
    return 2
