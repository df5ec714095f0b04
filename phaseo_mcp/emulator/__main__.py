"""``python -m phaseo_mcp.emulator`` / ``phaseo-mcp emulator``: the emulator for people."""

from __future__ import annotations

import argparse
import logging
import sys

import anyio

from phaseo_mcp.emulator.config import EmulatorConfig, WebhookEndpoint
from phaseo_mcp.emulator.harness import running_emulator

EXAMPLE_KEY = "phaseo_v1_sk_demo01_emulatorsecret0123456789"
EXAMPLES = f"""\
examples:
  phaseo-mcp emulator                         serve on 127.0.0.1:8787; jobs take about 10 s
  phaseo-mcp emulator --port 0 --job-seconds 2
                                              a free port, faster jobs
  phaseo-mcp emulator --vocabulary r2 --timestamps iso
                                              April-2026 statuses, ISO timestamps
  phaseo-mcp emulator --keys {EXAMPLE_KEY}
                                              accept only this key

Control routes: POST /_emulator/faults, POST /_emulator/clock/advance,
GET /_emulator/counters (see phaseo_mcp/emulator/faults.py).
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="phaseo-mcp emulator",
        description="A local emulator of the Phaseo gateway's video API (loopback, no key).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    p.add_argument("--job-seconds", type=float, default=10.0, help="time from create to done")
    p.add_argument("--poll-after", type=int, default=2, help="poll_after_seconds in answers")
    p.add_argument("--time-scale", type=float, default=1.0, help="emulated time speed-up")
    p.add_argument("--vocabulary", choices=["r2", "r3"], default="r3")
    p.add_argument("--timestamps", choices=["int", "iso"], default="int")
    p.add_argument("--keys", nargs="+", metavar="KEY", help="accept only these keys")
    p.add_argument(
        "--webhook-endpoint",
        action="append",
        default=[],
        metavar="ID=URL,SECRET",
        help="register an R6 webhook endpoint (repeatable)",
    )
    p.add_argument("--log-level", default="INFO")
    return p


def _endpoints(specs: list[str]) -> dict[str, WebhookEndpoint]:
    out: dict[str, WebhookEndpoint] = {}
    for spec in specs:
        endpoint_id, _, rest = spec.partition("=")
        url, _, secret = rest.partition(",")
        out[endpoint_id] = WebhookEndpoint(url=url, secret=secret)
    return out


async def _serve(config: EmulatorConfig) -> None:
    async with running_emulator(config) as emu:
        key = config.allowed_keys[0] if config.allowed_keys else EXAMPLE_KEY
        print(f"Phaseo gateway emulator: {emu.base_url}", flush=True)
        print(f"Example key: {key}", flush=True)
        print(f"export PHASEO_BASE_URL={emu.base_url} PHASEO_API_KEY={key}", flush=True)
        await anyio.sleep_forever()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        allowed_keys=args.keys,
        job_seconds=args.job_seconds,
        poll_after_seconds=args.poll_after,
        time_scale=args.time_scale,
        vocabulary=args.vocabulary,
        timestamps=args.timestamps,
        webhook_endpoints=_endpoints(args.webhook_endpoint),
    )
    try:
        anyio.run(_serve, config)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"emulator: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
