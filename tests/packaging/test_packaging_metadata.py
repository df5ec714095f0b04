"""server.json (MCP registry) and manifest.json (MCPB) validate against their vendored schemas.

Schemas in tests/schemas/ (see its README for where each came from):
- server.schema.json, $id https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json
- mcpb-manifest-latest.schema.json, manifest_version 0.3 (npm @anthropic-ai/mcpb 2.1.2)
"""

from __future__ import annotations

import copy
import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client, StdioServerParameters

from phaseo_mcp import __version__
from phaseo_mcp.config import Settings
from phaseo_mcp.emulator import EmulatorHandle

from client_configs import REPO_ROOT
from helpers import TEST_KEY, TOOL_NAMES

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
REGISTRY_SCHEMA_ID = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"


def _json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _errors(document: dict[str, Any], schema_file: str) -> list[str]:
    schema = _json(SCHEMAS / schema_file)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


@pytest.fixture
def server_json() -> dict[str, Any]:
    return _json(REPO_ROOT / "server.json")


@pytest.fixture
def manifest() -> dict[str, Any]:
    return _json(REPO_ROOT / "manifest.json")


# --- server.json -------------------------------------------------------------------------


def test_vendored_registry_schema_is_the_2025_12_11_release() -> None:
    """The vendored schema is the dated release server.json declares."""
    assert _json(SCHEMAS / "server.schema.json")["$id"] == REGISTRY_SCHEMA_ID


def test_server_json_validates_against_the_registry_schema(server_json: dict[str, Any]) -> None:
    """server.json is valid for the MCP registry and names the schema it was written for."""
    assert _errors(server_json, "server.schema.json") == []
    assert server_json["$schema"] == REGISTRY_SCHEMA_ID


def test_registry_schema_rejects_a_broken_server_json(server_json: dict[str, Any]) -> None:
    """Control: the validation is live (a bad name and an over-long description are caught)."""
    broken = copy.deepcopy(server_json)
    broken["name"] = "no-slash-here"
    broken["description"] = "x" * 101
    assert len(_errors(broken, "server.schema.json")) == 2


def test_server_json_describes_the_pypi_package(server_json: dict[str, Any]) -> None:
    """PyPI package phaseo-mcp, run by uvx over stdio, key as a required secret."""
    assert server_json["name"] == "io.github.phaseo/phaseo-mcp"
    (package,) = server_json["packages"]
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert package["registryType"] == "pypi"
    assert package["identifier"] == project["project"]["name"] == "phaseo-mcp"
    assert package["runtimeHint"] == "uvx"
    assert package["transport"] == {"type": "stdio"}
    env = {item["name"]: item for item in package["environmentVariables"]}
    assert env["PHASEO_API_KEY"]["isSecret"] is True
    assert env["PHASEO_API_KEY"]["isRequired"] is True
    assert all(not item.get("isSecret") for name, item in env.items() if name != "PHASEO_API_KEY")


def test_server_json_versions_match_the_package(server_json: dict[str, Any]) -> None:
    """Server and package versions equal phaseo_mcp.__version__."""
    assert server_json["version"] == __version__
    assert [p["version"] for p in server_json["packages"]] == [__version__]


def test_readme_carries_the_registry_ownership_marker(server_json: dict[str, Any]) -> None:
    """The registry publishes a PyPI server only if its description says `mcp-name: <name>`."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"mcp-name: {server_json['name']}" in readme, (
        f"add '<!-- mcp-name: {server_json['name']} -->' to README.md (PyPI long description)"
    )


def test_readme_points_at_the_client_configs_and_the_doctor() -> None:
    """The README's client setup sends readers to configs/ and to `phaseo-mcp doctor`."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert "configs/" in readme
    assert "phaseo-mcp doctor" in readme


# --- manifest.json -----------------------------------------------------------------------


def test_manifest_validates_against_the_mcpb_schema(manifest: dict[str, Any]) -> None:
    """manifest.json is a valid MCPB 0.3 manifest."""
    assert _errors(manifest, "mcpb-manifest-latest.schema.json") == []


def test_mcpb_schema_rejects_a_broken_manifest(manifest: dict[str, Any]) -> None:
    """Control: an unknown server type and a missing author are caught."""
    broken = copy.deepcopy(manifest)
    broken["server"]["type"] = "ruby"
    del broken["author"]
    assert len(_errors(broken, "mcpb-manifest-latest.schema.json")) == 2


def test_manifest_version_matches_the_package(manifest: dict[str, Any]) -> None:
    """The bundle version equals phaseo_mcp.__version__."""
    assert manifest["version"] == __version__


def test_manifest_user_settings(manifest: dict[str, Any]) -> None:
    """API key: a required sensitive string. Output folder: a directory setting. The price
    confirmation's threshold (default 0.50) and its require switch are user settings too."""
    api_key = manifest["user_config"]["api_key"]
    assert api_key["type"] == "string"
    assert api_key["sensitive"] is True and api_key["required"] is True
    assert manifest["user_config"]["output_dir"]["type"] == "directory"
    configs = [manifest["server"]["mcp_config"]]
    configs += manifest["server"]["mcp_config"].get("platform_overrides", {}).values()
    for config in configs:
        assert config["env"]["PHASEO_API_KEY"] == "${user_config.api_key}"
        assert config["env"]["PHASEO_OUTPUT_DIR"] == "${user_config.output_dir}"
        assert config["env"]["PHASEO_CONFIRM_ABOVE_USD"] == "${user_config.confirm_above_usd}"
        assert config["env"]["PHASEO_REQUIRE_CONFIRMATION"] == "${user_config.require_confirmation}"
    assert manifest["user_config"]["confirm_above_usd"]["default"] == "0.50"
    assert manifest["user_config"]["require_confirmation"]["type"] == "boolean"


def _as_a_host_fills(
    manifest: dict[str, Any], config: dict[str, Any], documents: Path, *, unfilled: bool
) -> dict[str, str]:
    """The env a host starts the server with when the person keeps every default and fills only
    the required key; with ``unfilled``, blank optional fields stay as their placeholders (as
    some hosts pass them) instead of becoming ""."""
    env: dict[str, str] = {}
    for name, value in config["env"].items():
        field = re.fullmatch(r"\$\{user_config\.(\w+)\}", value)
        if field is None:
            continue  # PYTHONPATH and the like: not a setting
        option = manifest["user_config"][field.group(1)]
        default = option.get("default")
        if option.get("required"):
            env[name] = TEST_KEY
        elif default == "" and unfilled:
            env[name] = value
        elif isinstance(default, bool):
            env[name] = str(default).lower()
        else:
            env[name] = str(default).replace("${DOCUMENTS}", str(documents))
    return env


@pytest.mark.parametrize("unfilled", [False, True], ids=["blank", "placeholder"])
def test_manifest_settings_left_as_they_are_start_with_the_servers_defaults(
    manifest: dict[str, Any], tmp_path: Path, unfilled: bool
) -> None:
    """Every setting a person can set in the bundle reaches a variable the server reads; kept
    as they are (a blank optional field passed as "" or as its raw ``${user_config.…}``), the
    server starts with its own defaults: no cost ceiling, no daily budget, asking at $0.50."""
    configs = [manifest["server"]["mcp_config"]]
    configs += manifest["server"]["mcp_config"].get("platform_overrides", {}).values()
    for config in configs:
        used = set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(config["env"])))
        assert used == set(manifest["user_config"])
        env = _as_a_host_fills(manifest, config, tmp_path, unfilled=unfilled)
        assert {"PHASEO_MAX_COST_USD", "PHASEO_DAILY_BUDGET_USD"} <= set(env)
        settings = Settings.from_env(env)
        assert settings.max_cost_usd is None and settings.daily_budget_usd is None
        assert settings.confirm_above_usd == 0.5
        assert settings.output_dir == tmp_path / "phaseo-videos"
        limits = {"PHASEO_DAILY_BUDGET_USD": "5", "PHASEO_MAX_COST_USD": "2"}
        filled = Settings.from_env(env | limits)
        assert filled.daily_budget_usd == 5 and filled.max_cost_usd == 2


def test_manifest_entry_point_and_tools(manifest: dict[str, Any]) -> None:
    """The entry point exists and the seven tools are listed with descriptions."""
    server = manifest["server"]
    assert server["type"] == "python"
    assert (REPO_ROOT / server["entry_point"]).is_file()
    assert server["mcp_config"]["args"] == ["-m", "phaseo_mcp"]
    names = [tool["name"] for tool in manifest["tools"]]
    assert len(names) == len(set(names))
    assert set(names) == TOOL_NAMES
    assert all(
        tool["description"] and "\n" not in tool["description"] for tool in manifest["tools"]
    )


def _expand_mcpb(
    value: str, dirname: Path, output_dir: Path, user_config: dict[str, Any] | None = None
) -> str:
    """What the host substitutes: the key and folder given, every other setting's default."""
    value = (
        value.replace("${__dirname}", str(dirname))
        .replace("${user_config.api_key}", TEST_KEY)
        .replace("${user_config.output_dir}", str(output_dir))
        .replace("${user_config.inline_video_max_mb}", "100")
    )
    for name, spec in (user_config or {}).items():
        default = spec.get("default", "")
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        value = value.replace(f"${{user_config.{name}}}", shown)
    return value


@pytest.mark.anyio
async def test_manifest_command_starts_the_server_and_lists_its_tools(
    manifest: dict[str, Any], emulator: EmulatorHandle, tmp_path: Path
) -> None:
    """The bundle's mcp_config, run from the source tree, serves exactly the manifest's tools."""
    config = manifest["server"]["mcp_config"]
    if sys.platform == "win32":
        config = {**config, **config["platform_overrides"]["win32"]}
    settings = manifest["user_config"]
    env = {
        k: _expand_mcpb(v, REPO_ROOT, tmp_path / "videos", settings)
        for k, v in config["env"].items()
    }
    env.update(PHASEO_BASE_URL=emulator.base_url, PHASEO_STATE_DIR=str(tmp_path / "state"))
    args = [_expand_mcpb(arg, REPO_ROOT, tmp_path) for arg in config["args"]]
    # Claude Desktop supplies the "python3" it manages; here, the interpreter running the tests.
    params = StdioServerParameters(command=sys.executable, args=args, env=env, cwd=tmp_path)
    with anyio.fail_after(60):
        async with Client(params) as client:
            result = await client.list_tools()
    assert {tool.name for tool in result.tools} == TOOL_NAMES
