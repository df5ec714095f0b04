"""The client files in configs/ parse, have each client's shape, and really start the server.

Every stdio form is launched as the client would launch it (``uvx phaseo-mcp`` replaced by the
installed script, since the package is not on PyPI yet; the checkout placeholder replaced by a
real checkout) through the real MCP client, and tools/list must answer. The HTTP forms are
pointed at a real ``phaseo-mcp serve --transport http`` with a bearer token.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from phaseo_mcp.config import find_template
from phaseo_mcp.emulator import EmulatorHandle

from client_configs import (
    BRIDGED_HTTP_FILES,
    CHECKOUT_PLACEHOLDER,
    CLIENT_FILES,
    CONFIGS,
    HTTP_FILES,
    KEY_PLACEHOLDERS,
    STDIO_FILES,
    UNFILLED,
    StdioEntry,
    fake_checkout,
    http_entry,
    installed_cli,
    load,
    resolve_command,
    server_block,
    stdio_entry,
    substitute,
)
from helpers import TEST_KEY, TOOL_NAMES, stop_process

EXPECTED_TOOLS = TOOL_NAMES
STARTUP_TIMEOUT_SECONDS = 60.0
HTTP_TOKEN = "cfg-test-token-0123456789"


# --- shape -------------------------------------------------------------------------------


def test_every_file_in_configs_is_known_and_documented() -> None:
    """configs/ holds only the files the tests know, and the README describes each one."""
    readme = (CONFIGS / "README.md").read_text(encoding="utf-8")
    extras = {"README.md", "claude-code.sh", "nginx.conf"}
    present = {path.name for path in CONFIGS.iterdir() if path.is_file()}
    assert present - extras == set(CLIENT_FILES), "a config file is missing or untested"
    for name in sorted(present - {"README.md"}):
        assert f"`{name}`" in readme, f"configs/README.md does not mention {name}"


@pytest.mark.parametrize("name", sorted(CLIENT_FILES))
def test_config_file_parses_and_has_one_phaseo_server(name: str) -> None:
    """Each file is valid JSON/TOML and defines exactly one server called phaseo."""
    block = server_block(name)
    assert block


@pytest.mark.parametrize("client", sorted(set(CLIENT_FILES.values())))
def test_each_client_has_uvx_checkout_and_http_forms(client: str) -> None:
    """Every client gets the published (uvx) form, the from-a-checkout form and an HTTP form."""
    names = [name for name, owner in CLIENT_FILES.items() if owner == client]
    commands = [stdio_entry(n).command for n in names if n in STDIO_FILES]
    assert "uvx" in commands
    assert f"{CHECKOUT_PLACEHOLDER}/.venv/bin/phaseo-mcp" in commands
    assert any(n in HTTP_FILES for n in names)


@pytest.mark.parametrize("name", STDIO_FILES)
def test_stdio_config_passes_the_key_without_embedding_one(name: str) -> None:
    """The key reaches the server through the client's own mechanism, never a real key."""
    entry = stdio_entry(name)
    key_values = [entry.env.get("PHASEO_API_KEY", "")]
    if CLIENT_FILES[name] == "codex":
        assert "PHASEO_API_KEY" in entry.forwarded, "codex must forward PHASEO_API_KEY (env_vars)"
    else:
        assert key_values[0] in KEY_PLACEHOLDERS, f"{name}: key is not a known placeholder"
    if CLIENT_FILES[name] == "vscode":
        inputs = {item["id"]: item for item in load(name)["inputs"]}
        assert inputs["phaseo-api-key"]["type"] == "promptString"
        assert inputs["phaseo-api-key"]["password"] is True
    if CLIENT_FILES[name] in ("vscode", "claude-code", "cursor"):
        assert server_block(name)["type"] == "stdio"
    if CLIENT_FILES[name] == "opencode":
        assert server_block(name)["type"] == "local"


def _documented_settings() -> set[str]:
    """The PHASEO_* variables configs/README.md tells users to add to the server's env."""
    readme = (CONFIGS / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Other settings", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"`(PHASEO_[A-Z_]+)`", section))


@pytest.mark.parametrize("name", [n for n in STDIO_FILES if CLIENT_FILES[n] == "codex"])
def test_codex_forwards_every_documented_setting(name: str) -> None:
    """Codex passes only the variables named in env_vars: each documented setting is there."""
    documented = _documented_settings()
    assert {"PHASEO_OUTPUT_DIR", "PHASEO_BASE_URL"} <= documented
    assert documented | {"PHASEO_API_KEY"} <= set(stdio_entry(name).forwarded)


@pytest.mark.parametrize(
    "name", [n for n in CLIENT_FILES if CLIENT_FILES[n] in ("gemini", "opencode", "codex")]
)
def test_hosts_with_a_short_default_timeout_allow_a_full_wait(name: str) -> None:
    """wait_for_video may take its whole ~50 s budget: the file raises the host's own limit."""
    block = server_block(name)
    if CLIENT_FILES[name] == "codex":
        assert block["tool_timeout_sec"] >= 60
    else:
        assert block["timeout"] >= 60_000  # milliseconds; opencode's default is 5 s


@pytest.mark.parametrize("name", HTTP_FILES)
def test_http_config_sends_a_bearer_token_to_the_mcp_path(name: str) -> None:
    """HTTP forms point at /mcp and send Authorization: Bearer <token from a placeholder>."""
    entry = http_entry(name)
    url = substitute(entry.url)
    assert url.startswith(("http://", "https://")) and url.endswith("/mcp"), url
    auth = entry.headers["Authorization"]
    assert auth.startswith("Bearer ")
    filled = substitute(auth, token=HTTP_TOKEN)
    assert filled == f"Bearer {HTTP_TOKEN}", f"{name}: token placeholder not recognised: {auth}"
    block = server_block(name)
    if CLIENT_FILES[name] == "vscode":
        assert block["type"] == "http"
        inputs = {item["id"]: item for item in load(name)["inputs"]}
        assert inputs["phaseo-mcp-token"]["password"] is True
    if CLIENT_FILES[name] == "claude-code":
        assert block["type"] == "http"
    if CLIENT_FILES[name] == "opencode":
        assert block["type"] == "remote"
        assert block["oauth"] is False, "the server has no OAuth: opencode must not try it"
    if name in BRIDGED_HTTP_FILES:
        assert block["command"] == "npx" and "mcp-remote" in block["args"]


def test_no_config_file_contains_a_real_key() -> None:
    """Only placeholders: nothing shaped like a live key or token is committed."""
    for path in CONFIGS.iterdir():
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        for word in text.replace('"', " ").split():
            if word.startswith(("phaseo_v1_sk_", "aistats_v1_sk_")):
                assert "REPLACE" in word or word.endswith("..."), f"{path.name}: {word}"


# --- the stdio forms really start --------------------------------------------------------


def _hermetic_env(base_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "PHASEO_BASE_URL": base_url,
        "PHASEO_OUTPUT_DIR": str(tmp_path / "videos"),
        "PHASEO_STATE_DIR": str(tmp_path / "state"),
    }


def _launch_parameters(
    entry: StdioEntry, base_url: str, tmp_path: Path
) -> tuple[str, list[str], dict[str, str]]:
    command, args = resolve_command(entry, fake_checkout(tmp_path))
    env = _hermetic_env(base_url, tmp_path)
    env.update({k: substitute(v, key=TEST_KEY) for k, v in entry.env.items()})
    parent = {"PHASEO_API_KEY": TEST_KEY}
    for name in entry.forwarded:  # codex env_vars: copied from the client's own environment
        if name in parent:
            env[name] = parent[name]
    for value in [command, *args, *env.values()]:
        assert find_template(value) is None, f"{entry.source}: unfilled template in {value!r}"
        assert not UNFILLED.search(value), f"{entry.source}: unfilled placeholder in {value!r}"
    assert env.get("PHASEO_API_KEY") == TEST_KEY, f"{entry.source}: the key does not reach it"
    return command, args, env


async def _tool_names(command: str, args: list[str], env: dict[str, str]) -> set[str]:
    params = StdioServerParameters(command=command, args=args, env=env)
    with anyio.fail_after(STARTUP_TIMEOUT_SECONDS):
        async with Client(params) as client:
            result = await client.list_tools()
    return {tool.name for tool in result.tools}


@pytest.mark.anyio
@pytest.mark.parametrize("name", STDIO_FILES)
async def test_stdio_config_starts_the_server_and_lists_tools(
    name: str, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """Launched exactly as the client would, the server answers tools/list with create_video."""
    command, args, env = _launch_parameters(stdio_entry(name), emulator.base_url, tmp_path)
    names = await _tool_names(command, args, env)
    assert "create_video" in names
    assert EXPECTED_TOOLS <= names


# --- claude-code.sh ----------------------------------------------------------------------


def _run_claude_code_script(form: str, tmp_path: Path, extra_env: dict[str, str]) -> list[str]:
    """Run configs/claude-code.sh with a fake ``claude`` that records its argv."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir(exist_ok=True)
    record = tmp_path / f"claude-{form}.json"
    fake = bin_dir / "claude"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(record)!r}, 'w').write(json.dumps(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        **extra_env,
    }
    subprocess.run(
        ["sh", str(CONFIGS / "claude-code.sh"), form],
        env=env,
        check=True,
        timeout=30,
        capture_output=True,
    )
    argv: list[str] = json.loads(record.read_text(encoding="utf-8"))
    return argv


def _parse_claude_mcp_add(argv: list[str]) -> tuple[dict[str, list[str]], list[str], list[str]]:
    """``mcp add [options] <name> [url] [-- command args...]`` -> options, positionals, command."""
    assert argv[:2] == ["mcp", "add"], argv
    rest = argv[2:]
    command: list[str] = []
    if "--" in rest:
        cut = rest.index("--")
        rest, command = rest[:cut], rest[cut + 1 :]
    options: dict[str, list[str]] = {}
    positionals: list[str] = []
    i = 0
    while i < len(rest):
        if rest[i].startswith("-"):
            options.setdefault(rest[i], []).append(rest[i + 1])
            i += 2
        else:
            positionals.append(rest[i])
            i += 1
    return options, positionals, command


def test_claude_code_script_names_the_server_before_any_variadic_option(tmp_path: Path) -> None:
    """`--env`/`--header` take several values: the name must come before them, not after."""
    for form, env in (
        ("uvx", {"PHASEO_API_KEY": TEST_KEY, "PHASEO_OUTPUT_DIR": "/abs/videos"}),
        ("checkout", {"PHASEO_API_KEY": TEST_KEY}),
        ("http", {"PHASEO_MCP_TOKEN": HTTP_TOKEN}),
    ):
        argv = _run_claude_code_script(form, tmp_path, env)
        name_at = argv.index("phaseo")
        variadic = [i for i, arg in enumerate(argv) if arg in ("--env", "-e", "--header", "-H")]
        assert variadic and name_at < min(variadic), (form, argv)


def test_claude_code_script_refuses_to_run_without_a_key(tmp_path: Path) -> None:
    """Without PHASEO_API_KEY the script stops before registering anything."""
    with pytest.raises(subprocess.CalledProcessError):
        _run_claude_code_script("uvx", tmp_path, {})
    assert not (tmp_path / "claude-uvx.json").exists()


def test_claude_code_script_http_form_adds_bearer_header(tmp_path: Path) -> None:
    """The http form registers the /mcp URL with an Authorization: Bearer header."""
    argv = _run_claude_code_script("http", tmp_path, {"PHASEO_MCP_TOKEN": HTTP_TOKEN})
    options, positionals, command = _parse_claude_mcp_add(argv)
    assert options["--transport"] == ["http"]
    assert positionals == ["phaseo", "http://127.0.0.1:8000/mcp"]
    assert options["--header"] == [f"Authorization: Bearer {HTTP_TOKEN}"]
    assert command == []


@pytest.mark.anyio
@pytest.mark.parametrize("form", ["uvx", "checkout"])
async def test_claude_code_script_stdio_forms_start_the_server(
    form: str, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """`claude mcp add` as the script writes it launches a server that lists create_video."""
    checkout = fake_checkout(tmp_path)
    argv = await anyio.to_thread.run_sync(
        lambda: _run_claude_code_script(
            form, tmp_path, {"PHASEO_API_KEY": TEST_KEY, "PHASEO_MCP_CHECKOUT": str(checkout)}
        )
    )
    options, positionals, command = _parse_claude_mcp_add(argv)
    assert options["--transport"] == ["stdio"] and options["--scope"] == ["user"]
    assert positionals == ["phaseo"]
    env = dict(item.split("=", 1) for item in options.get("--env", []))
    assert env == {"PHASEO_API_KEY": TEST_KEY}
    if form == "uvx":
        assert command == ["uvx", "phaseo-mcp"]
        command = [str(installed_cli())]
    else:
        assert command == [f"{checkout}/.venv/bin/phaseo-mcp"]
    full_env = {**_hermetic_env(emulator.base_url, tmp_path), **env}
    names = await _tool_names(command[0], command[1:], full_env)
    assert "create_video" in names


# --- the HTTP forms really connect -------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``phaseo-mcp serve --transport http`` with a bearer token; yields its /mcp URL."""
    tmp = tmp_path_factory.mktemp("http-server")
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "PHASEO_API_KEY": TEST_KEY,
        "PHASEO_BASE_URL": "http://127.0.0.1:9/v1",  # tools/list never calls the gateway
        "PHASEO_OUTPUT_DIR": str(tmp / "videos"),
        "PHASEO_STATE_DIR": str(tmp / "state"),
        "PHASEO_MCP_AUTH_TOKENS": HTTP_TOKEN,
    }
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(installed_cli()), "serve", "--transport", "http", "--port", str(port)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"HTTP server exited with {proc.returncode}:\n"
                    + (tmp / "server.log").read_text(errors="replace")
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("HTTP server did not start listening") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        stop_process(proc)
        log.close()


async def _http_tool_names(url: str, headers: dict[str, str]) -> set[str]:
    with anyio.fail_after(STARTUP_TIMEOUT_SECONDS):
        async with httpx2.AsyncClient(headers=headers) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                result = await client.list_tools()
    return {tool.name for tool in result.tools}


@pytest.mark.anyio
@pytest.mark.parametrize("name", HTTP_FILES)
async def test_http_config_connects_with_its_bearer_header(name: str, http_server: str) -> None:
    """The file's URL (port swapped for the test server) and header get tools/list answered."""
    entry = http_entry(name)
    url = substitute(entry.url)
    assert url == "http://127.0.0.1:8000/mcp", "configs use the documented local default"
    headers = {k: substitute(v, token=HTTP_TOKEN) for k, v in entry.headers.items()}
    names = await _http_tool_names(http_server, headers)
    assert "create_video" in names


@pytest.mark.anyio
async def test_http_server_refuses_a_request_without_the_token(http_server: str) -> None:
    """The bearer token in the configs is what stands between the network and the tools."""
    with anyio.fail_after(STARTUP_TIMEOUT_SECONDS):
        async with httpx2.AsyncClient() as http:
            response = await http.post(
                http_server,
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={"Accept": "application/json, text/event-stream"},
            )
    assert response.status_code == 401
