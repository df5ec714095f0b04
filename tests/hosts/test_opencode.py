"""opencode (npm opencode-ai, pinned in pins.py) driven with each shipped configs/opencode*.json.

Each file is the project's ``opencode.json`` after only the edits the configs README asks for;
the user's own settings (a model provider, no updates, no sharing) live in the global config of a
fresh HOME. ``opencode mcp list`` must report the server connected in every form. In the checkout
and HTTP forms ``opencode run`` plays a whole create -> wait -> download against the scripted model
API of model_openai.py (opencode's bundled ``@ai-sdk/openai-compatible`` provider: nothing is
fetched from npm at test time); the MP4 is checked on disk, or behind the signed link the model
read in the result's text (opencode gives the model only the text content).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import assert_mp4
from hostkit_b import Box, assert_saved_run, checkout_script, make_box
from local_servers import HTTP_TOKEN, require_host, run_host, shipped
from model_openai import ModelApi, scripted_model

pytestmark = pytest.mark.slow
LIST_TIMEOUT = 150.0  # uvx builds the server's environment on first start
RUN_TIMEOUT = 300.0
QUIET = {
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
    "OPENCODE_DISABLE_MODELS_FETCH": "1",
    "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
    "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
    "OPENCODE_DISABLE_SHARE": "1",
    "OPENCODE_DISABLE_CLAUDE_CODE": "1",
    # Anything opencode would fetch from npm fails fast instead of reaching the registry.
    "NPM_CONFIG_REGISTRY": "http://127.0.0.1:9/",
    "BUN_CONFIG_REGISTRY": "http://127.0.0.1:9/",
}


def user_settings(model_url: str) -> dict[str, Any]:
    """The user's global opencode.json: the scripted model as an OpenAI-compatible provider."""
    provider = {
        "npm": "@ai-sdk/openai-compatible",
        "name": "Scripted",
        "options": {"baseURL": model_url, "apiKey": "not-a-key"},
        "models": {"scripted": {"name": "Scripted", "tool_call": True}},
    }
    return {
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": False,
        "share": "disabled",
        "model": "scripted/scripted",
        "provider": {"scripted": provider},
    }


def setup(
    box: Box, name: str, model_url: str, values: Mapping[str, str], url: str = ""
) -> dict[str, str]:
    project_file = shipped(name, url=url)
    json.loads(project_file)  # the shipped file is plain JSON
    (box.project / "opencode.json").write_text(project_file)
    settings = box.home / ".config" / "opencode" / "opencode.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps(user_settings(model_url), indent=2))
    return box.env(**QUIET, **values)


def mcp_list(opencode: Path, box: Box, env: Mapping[str, str]) -> str:
    listed = run_host([str(opencode), "mcp", "list"], env, box.project, timeout=LIST_TIMEOUT)
    out = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    assert listed.returncode == 0, out
    return out


def assert_connected(opencode: Path, box: Box, env: Mapping[str, str]) -> None:
    out = mcp_list(opencode, box, env)
    assert re.search(r"phaseo\s+connected", out), out


@contextmanager
def over_http(tmp_path: Path) -> Iterator[tuple[Path, Box, dict[str, str], ModelApi]]:
    """opencode.http.json in a project, PHASEO_MCP_TOKEN in the shell, the HTTP server running:
    opencode reports it connected; (opencode, box, its environment, the scripted model)."""
    opencode = require_host("opencode")
    box = make_box(tmp_path)
    with (
        box.emulator() as base_url,
        box.http_server(base_url) as server_url,
        scripted_model() as model,
    ):
        values = {"PHASEO_MCP_TOKEN": HTTP_TOKEN}
        env = setup(box, "opencode.http.json", model.base_url, values, server_url)
        assert_connected(opencode, box, env)
        yield opencode, box, env, model


def test_opencode_checkout_full_run(tmp_path: Path) -> None:
    """opencode.checkout.json: opencode reports the server connected, and ``opencode run``
    hands the model our tools and their results: create -> wait -> download saves an MP4."""
    opencode = require_host("opencode")
    checkout_script()
    box = make_box(tmp_path)
    with box.emulator() as base_url, scripted_model() as model:
        env = setup(box, "opencode.checkout.json", model.base_url, box.server_values(base_url))
        assert_connected(opencode, box, env)
        command = [str(opencode), "run", "--format", "json", "Make a video of a sunrise."]
        ran = run_host(command, env, box.project, timeout=RUN_TIMEOUT)
        transcript = model.transcript
    events = assert_saved_run(ran, transcript, box)
    tools = [e["part"] for e in events if e.get("type") == "tool_use"]
    assert [t["state"]["status"] for t in tools] == ["completed"] * len(transcript.called())


def test_opencode_uvx_connects(tmp_path: Path, wheelhouse: Path) -> None:
    """opencode.json: opencode starts ``uvx phaseo-mcp`` (the real uv, this checkout's wheel)
    and reports it connected."""
    opencode = require_host("opencode")
    box = make_box(tmp_path, wheelhouse)
    with box.emulator() as base_url, scripted_model() as model:
        env = setup(box, "opencode.json", model.base_url, box.server_values(base_url))
        assert_connected(opencode, box, env)


def test_opencode_http_full_run(tmp_path: Path) -> None:
    """opencode.http.json: opencode sends the bearer token from PHASEO_MCP_TOKEN, reports the
    server connected, and the model, which sees only the results' text, gets a signed link
    that serves the MP4."""
    with over_http(tmp_path) as (opencode, box, env, model):
        command = [str(opencode), "run", "--format", "json", "Make a video of a sunrise."]
        ran = run_host(command, env, box.project, timeout=RUN_TIMEOUT)
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
        model.transcript.check_script()
        delivered = model.transcript.results[-1][1]
        links = re.findall(r"https?://[^\s\"'<>)]+", delivered)
        assert links, f"no link in the download text opencode gave the model: {delivered!r}"
        fetched = httpx.get(links[0], timeout=30)
    assert fetched.status_code == 200, fetched.text[:300]
    video = tmp_path / "fetched.mp4"
    video.write_bytes(fetched.content)
    assert_mp4(video)
    assert list(box.output_dir.iterdir()) == []  # over HTTP the server keeps no file


def test_opencode_http_connects_and_refuses_a_wrong_token(tmp_path: Path) -> None:
    """opencode.http.json: with PHASEO_MCP_TOKEN opencode reports the server connected; with a
    wrong token it reports the 401, not a failed OAuth login or client registration."""
    with over_http(tmp_path) as (opencode, box, env, model):
        refused = mcp_list(opencode, box, {**env, "PHASEO_MCP_TOKEN": "not-the-token"})
    assert re.search(r"phaseo\s+failed", refused) and "401" in refused, refused
    assert not re.search(r"regist|oauth|log ?in", refused, re.IGNORECASE), refused
