"""``phaseo-mcp doctor`` against the emulator, run as a subprocess so the exit status is real.

The doctor runs in a child process while the emulator serves from this test's event loop, so the
child is awaited with ``anyio.run_process`` (a blocking ``subprocess.run`` would stall the
emulator and the doctor would report it unreachable).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import anyio
import pytest

from phaseo_mcp.config import Settings, find_template
from phaseo_mcp.doctor.static import check_directory, check_key, check_templates
from phaseo_mcp.doctor.table import Check, exit_status, render_table
from phaseo_mcp.emulator import EmulatorConfig, EmulatorHandle
from phaseo_mcp.logs import masked_key

from helpers import OTHER_KEY, TEST_KEY, TIME_SCALE

DOCTOR_TIMEOUT_SECONDS = 60.0
KEY_SECRET = TEST_KEY.rsplit("_", 1)[1]


def _env(**values: str) -> dict[str, str]:
    """A minimal environment: the doctor must not see the developer's PHASEO_* variables."""
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
    env.update(values)
    return env


def _gateway_env(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, **values: str
) -> dict[str, str]:
    """The minimal environment pointed at the emulator, with writable folders."""
    return _env(
        HOME=str(state_dir),
        PHASEO_BASE_URL=emulator.base_url,
        PHASEO_OUTPUT_DIR=str(output_dir),
        PHASEO_STATE_DIR=str(state_dir),
        **values,
    )


def _doctor_command(*flags: str) -> list[str]:
    return [sys.executable, "-m", "phaseo_mcp", "doctor", *flags]


async def _run_doctor(
    env: Mapping[str, str], *flags: str, prefix: tuple[str, ...] = ()
) -> tuple[int, str]:
    with anyio.fail_after(DOCTOR_TIMEOUT_SECONDS):
        result = await anyio.run_process(
            [*prefix, *_doctor_command(*flags)],
            env=dict(env),
            check=False,
            stderr=subprocess.STDOUT,
        )
    return result.returncode, result.stdout.decode("utf-8", errors="replace")


def _run_doctor_sync(env: Mapping[str, str], *flags: str) -> tuple[int, str]:
    result = subprocess.run(
        _doctor_command(*flags),
        env=dict(env),
        capture_output=True,
        timeout=DOCTOR_TIMEOUT_SECONDS,
        check=False,
    )
    return result.returncode, (result.stdout + result.stderr).decode("utf-8", errors="replace")


def _row(output: str, check: str) -> str:
    rows = [line for line in output.splitlines() if line.startswith(check + " ")]
    assert rows, f"no {check!r} row in:\n{output}"
    return "\n".join(rows)


def _assert_no_secret(output: str, key: str) -> None:
    assert key not in output
    assert key.rsplit("_", 1)[1] not in output, "the key's secret part leaked"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- against the emulator ------------------------------------------------------------------


@pytest.mark.anyio
async def test_doctor_passes_with_a_good_key(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """Good key, reachable gateway, writable folders: exit 0, and the key is never printed."""
    env = _gateway_env(emulator, output_dir, state_dir, PHASEO_API_KEY=TEST_KEY)
    code, output = await _run_doctor(env)
    assert code == 0, output
    assert "FAIL" not in output
    assert "accepted" in _row(output, "api key")
    assert masked_key(TEST_KEY) in output
    assert "OK" in _row(output, "base url")
    assert "OK" in _row(output, "output dir") and "OK" in _row(output, "state dir")
    _assert_no_secret(output, TEST_KEY)


@pytest.mark.anyio
async def test_doctor_reads_the_key_from_a_file(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path, tmp_path: Path
) -> None:
    """--api-key-file works like PHASEO_API_KEY (and the key still is not printed)."""
    key_file = tmp_path / "key.txt"
    key_file.write_text(TEST_KEY + "\n", encoding="utf-8")
    env = _gateway_env(emulator, output_dir, state_dir)
    code, output = await _run_doctor(env, "--api-key-file", str(key_file))
    assert code == 0, output
    _assert_no_secret(output, TEST_KEY)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(allowed_keys=[TEST_KEY], time_scale=TIME_SCALE)]
)
async def test_doctor_fails_when_the_key_is_rejected(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """A key the gateway answers 401 to: exit 1, 'key rejected', the variable and a fix."""
    env = _gateway_env(emulator, output_dir, state_dir, PHASEO_API_KEY=OTHER_KEY)
    code, output = await _run_doctor(env)
    assert code == 1, output
    row = _row(output, "api key")
    assert "FAIL" in row and "rejected" in row
    assert "PHASEO_API_KEY" in row and "dashboard" in row
    _assert_no_secret(output, OTHER_KEY)


@pytest.mark.anyio
async def test_doctor_fails_without_a_key(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """No key at all: exit 1, naming PHASEO_API_KEY and where to get one."""
    env = _gateway_env(emulator, output_dir, state_dir)
    code, output = await _run_doctor(env)
    assert code == 1, output
    row = _row(output, "api key")
    assert "FAIL" in row and "PHASEO_API_KEY is not set" in row and "dashboard" in row


LEGACY_KEY = "aistats_v1_sk_legacy1_0123456789abcdefsecret"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(allowed_keys=[LEGACY_KEY], time_scale=TIME_SCALE)]
)
async def test_doctor_warns_about_a_legacy_key(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """An aistats_v1_ key still works (exit 0) but the doctor warns of its 2027 sunset."""
    legacy = LEGACY_KEY
    env = _gateway_env(emulator, output_dir, state_dir, PHASEO_API_KEY=legacy)
    code, output = await _run_doctor(env)
    row = _row(output, "api key")
    assert "WARN" in row and "2027-01-01" in row and "accepted" in row
    assert code == 0, output
    _assert_no_secret(output, legacy)


@pytest.mark.anyio
async def test_doctor_fails_on_an_unsubstituted_template(
    emulator: EmulatorHandle, state_dir: Path
) -> None:
    """A client that passed '${user_config.output_dir}' through literally: exit 1, named."""
    env = _env(
        HOME=str(state_dir),
        PHASEO_API_KEY=TEST_KEY,
        PHASEO_BASE_URL=emulator.base_url,
        PHASEO_OUTPUT_DIR="${user_config.output_dir}",
        PHASEO_STATE_DIR=str(state_dir),
    )
    code, output = await _run_doctor(env)
    assert code == 1, output
    row = _row(output, "templates")
    assert "FAIL" in row and "PHASEO_OUTPUT_DIR" in row and "${...}" in row
    assert "FAIL" in _row(output, "output dir")


@pytest.mark.anyio
async def test_doctor_fails_on_a_template_passed_as_a_flag(
    emulator: EmulatorHandle, output_dir: Path, state_dir: Path
) -> None:
    """Templates arriving through flags (--state-dir %APPDATA%) are caught as well."""
    env = _env(
        HOME=str(state_dir),
        PHASEO_API_KEY=TEST_KEY,
        PHASEO_BASE_URL=emulator.base_url,
        PHASEO_OUTPUT_DIR=str(output_dir),
    )
    code, output = await _run_doctor(env, "--state-dir", "%APPDATA%")
    assert code == 1, output
    assert "--state-dir" in _row(output, "templates")


@pytest.mark.anyio
async def test_doctor_fails_when_output_dir_is_under_a_file(
    emulator: EmulatorHandle, state_dir: Path, tmp_path: Path
) -> None:
    """An output folder that cannot exist (a parent is a regular file) fails, even as root."""
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder", encoding="utf-8")
    env = _env(
        HOME=str(state_dir),
        PHASEO_API_KEY=TEST_KEY,
        PHASEO_BASE_URL=emulator.base_url,
        PHASEO_OUTPUT_DIR=str(blocker / "sub"),
        PHASEO_STATE_DIR=str(state_dir),
    )
    code, output = await _run_doctor(env)
    assert code == 1, output
    row = _row(output, "output dir")
    assert "FAIL" in row and "not a directory" in row and "PHASEO_OUTPUT_DIR" in row


@pytest.fixture
def read_only_tree() -> Iterator[Path]:
    """A world-traversable temp tree (tmp_path is 0700, which would hide it from `nobody`)."""
    base = Path(tempfile.mkdtemp(prefix="phaseo-doctor-ro-"))
    try:
        base.chmod(0o755)
        (base / "ro").mkdir(mode=0o555)
        (base / "ro").chmod(0o555)
        (base / "state").mkdir()
        (base / "state").chmod(0o777)
        yield base
    finally:
        (base / "ro").chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.anyio
async def test_doctor_fails_when_output_dir_is_read_only(
    emulator: EmulatorHandle, read_only_tree: Path
) -> None:
    """A read-only output folder fails. Root ignores permissions, so then run as `nobody`."""
    prefix: tuple[str, ...] = ()
    if os.name == "posix" and os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser: cannot make a folder read-only")
        prefix = (runuser, "-u", "nobody", "--")
    env = _env(
        HOME=str(read_only_tree / "state"),
        PHASEO_API_KEY=TEST_KEY,
        PHASEO_BASE_URL=emulator.base_url,
        PHASEO_OUTPUT_DIR=str(read_only_tree / "ro"),
        PHASEO_STATE_DIR=str(read_only_tree / "state"),
    )
    code, output = await _run_doctor(env, prefix=prefix)
    assert code == 1, output
    row = _row(output, "output dir")
    assert "FAIL" in row and "not writable" in row
    assert "OK" in _row(output, "state dir")


# --- no emulator needed ------------------------------------------------------------------


def test_doctor_fails_when_the_gateway_is_unreachable(tmp_path: Path) -> None:
    """A closed loopback port: exit 1, 'unreachable', and the key left unverified."""
    env = _env(
        HOME=str(tmp_path),
        PHASEO_API_KEY=TEST_KEY,
        PHASEO_BASE_URL=f"http://127.0.0.1:{_closed_port()}/v1",
        PHASEO_OUTPUT_DIR=str(tmp_path / "videos"),
        PHASEO_STATE_DIR=str(tmp_path / "state"),
    )
    code, output = _run_doctor_sync(env)
    assert code == 1, output
    row = _row(output, "base url")
    assert "FAIL" in row and "unreachable" in row and "PHASEO_BASE_URL" in row
    assert "not verified" in _row(output, "api key")
    _assert_no_secret(output, TEST_KEY)


def test_doctor_leaves_no_trace_on_disk(tmp_path: Path) -> None:
    """Checking a folder that does not exist yet neither leaves it nor its probe file behind."""
    target = tmp_path / "a" / "b" / "videos"
    check = check_directory("output", "PHASEO_OUTPUT_DIR", target)
    assert check.status == "OK" and "will be created" in check.detail
    assert not (tmp_path / "a").exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    assert check_directory("output", "PHASEO_OUTPUT_DIR", existing).status == "OK"
    assert list(existing.iterdir()) == []


def test_relative_directory_fails(tmp_path: Path) -> None:
    """A relative output folder depends on the client's working directory: FAIL."""
    check = check_directory("output", "PHASEO_OUTPUT_DIR", Path("videos"))
    assert check.status == "FAIL" and "relative" in check.detail


@pytest.mark.parametrize(
    "value",
    ["${user_config.api_key}", "${env:HOME}/videos", "%USERPROFILE%\\Videos", "{{ output_dir }}"],
)
def test_find_template_spots_each_template_style(value: str) -> None:
    """${...}, %VAR% and {{...}} are all recognised."""
    assert find_template(value) is not None


@pytest.mark.parametrize(
    "value", ["/home/me/Videos", "https://api.phaseo.app/v1", "C:\\Users\\me\\Videos", TEST_KEY]
)
def test_find_template_accepts_plain_values(value: str) -> None:
    """Ordinary paths, URLs and keys are not mistaken for templates."""
    assert find_template(value) is None


def test_template_in_the_key_is_reported_without_printing_it() -> None:
    """A templated key fails, and the table hides the value."""
    settings = Settings.from_env({"PHASEO_API_KEY": "${user_config.api_key}"})
    checks = check_templates(settings, {"PHASEO_API_KEY": "${user_config.api_key}"})
    assert [c.status for c in checks] == ["FAIL"]
    assert "user_config" not in render_table(checks)
    assert check_key(settings).status == "FAIL"


def test_a_limit_left_blank_in_the_host_is_no_limit_while_other_placeholders_fail() -> None:
    """Some MCPB hosts pass an optional field left blank as its raw placeholder: for the cost
    ceiling and the daily budget that means no limit (the server starts, doctor passes);
    the same placeholder in any other variable, or a filled-in limit, is read as written."""
    env = {
        "PHASEO_MAX_COST_USD": "${user_config.max_cost_usd}",
        "PHASEO_DAILY_BUDGET_USD": " ${user_config.daily_budget_usd} ",
    }
    settings = Settings.from_env(env)
    assert settings.max_cost_usd is None and settings.daily_budget_usd is None
    assert [c.status for c in check_templates(settings, env)] == ["OK"]
    other = {"PHASEO_CONFIRM_ABOVE_USD": "${user_config.max_cost_usd}"}
    with pytest.raises(ValueError, match="PHASEO_CONFIRM_ABOVE_USD"):
        Settings.from_env(other)
    assert [c.status for c in check_templates(Settings.from_env({}), other)] == ["FAIL"]
    with pytest.raises(ValueError, match="PHASEO_DAILY_BUDGET_USD"):
        Settings.from_env({"PHASEO_DAILY_BUDGET_USD": "${env:BUDGET}"})


@pytest.mark.parametrize(
    ("key", "status"),
    [
        (TEST_KEY, "OK"),
        ("aistats_v1_sk_abc_0123456789", "WARN"),
        ("phaseo_v1_mk_abc_0123456789", "FAIL"),
        ('"' + TEST_KEY + '"', "FAIL"),
        ("Bearer " + TEST_KEY, "FAIL"),
        ("phaseo_v1_sk_REPLACE_WITH_YOUR_KEY", "FAIL"),
        ("something-else", "WARN"),
    ],
)
def test_key_shapes(key: str, status: str) -> None:
    """Key shape checks: current, legacy, management, quoted, placeholder, unknown."""
    check = check_key(Settings.from_env({"PHASEO_API_KEY": key}))
    assert check.status == status, check
    secret = key.rsplit("_", 1)[-1]
    assert secret not in render_table([check]) or len(secret) < 6


def test_fingerprint_shows_prefix_and_length_only() -> None:
    """The fingerprint names the key's kind and length, not its secret."""
    assert masked_key(TEST_KEY) == f"phaseo_v1_sk_te…({len(TEST_KEY)} chars)"
    assert masked_key("opaque-token-value") == "…(18 chars)"


def test_exit_status_counts_only_failures() -> None:
    """Warnings alone exit 0; any failure exits 1."""
    assert exit_status([Check("a", "OK", ""), Check("b", "WARN", "")]) == 0
    assert exit_status([Check("a", "OK", ""), Check("b", "FAIL", "")]) == 1


def test_doctor_reports_an_invalid_setting_instead_of_crashing(tmp_path: Path) -> None:
    """PHASEO_MAX_COST_USD=abc: a FAIL row naming the variable, not a traceback."""
    env = _env(HOME=str(tmp_path), PHASEO_MAX_COST_USD="abc")
    code, output = _run_doctor_sync(env)
    assert code == 1, output
    assert "Traceback" not in output
    assert "FAIL" in _row(output, "settings") and "PHASEO_MAX_COST_USD" in output


# --- the journal and the cost ceiling ----------------------------------------------------------


def _offline_env(tmp_path: Path, **values: str) -> dict[str, str]:
    """Folders of its own and a gateway URL nothing listens on (no network)."""
    return _env(
        HOME=str(tmp_path),
        PHASEO_API_KEY=TEST_KEY,
        PHASEO_BASE_URL=f"http://127.0.0.1:{_closed_port()}/v1",
        PHASEO_OUTPUT_DIR=str(tmp_path / "videos"),
        PHASEO_STATE_DIR=str(tmp_path / "state"),
        **values,
    )


def test_doctor_shows_the_effective_cost_ceiling(tmp_path: Path) -> None:
    """The cost ceiling row shows the limit in dollars, or that there is none."""
    _, output = _run_doctor_sync(_offline_env(tmp_path, PHASEO_MAX_COST_USD="2.5"))
    assert "$2.50 per video" in _row(output, "cost ceiling")
    _, output = _run_doctor_sync(_offline_env(tmp_path))
    assert "none" in _row(output, "cost ceiling")


def test_doctor_shows_the_effective_price_confirmation_rule(tmp_path: Path) -> None:
    """The price confirmation row states the threshold rule, the fallback and the state
    keys (counted, never shown); a bad threshold is a FAIL naming the variable."""
    _, output = _run_doctor_sync(_offline_env(tmp_path))
    row = _row(output, "price confirmation")
    assert "$0.50 or more" in row and "create as usual" in row
    assert "No PHASEO_MCP_STATE_KEYS" in row
    state_key = "k" * 20 + "statekeysecret0123456789"
    _, output = _run_doctor_sync(
        _offline_env(
            tmp_path,
            PHASEO_CONFIRM_ABOVE_USD="0",
            PHASEO_REQUIRE_CONFIRMATION="1",
            PHASEO_MCP_STATE_KEYS=state_key,
        )
    )
    row = _row(output, "price confirmation")
    assert "above $0" in row and "are refused" in row and "1 shared state key" in row
    assert state_key not in output
    _, output = _run_doctor_sync(_offline_env(tmp_path, PHASEO_CONFIRM_ABOVE_USD="off"))
    assert "off" in _row(output, "price confirmation")
    code, output = _run_doctor_sync(_offline_env(tmp_path, PHASEO_CONFIRM_ABOVE_USD="cheap"))
    assert code == 1 and "PHASEO_CONFIRM_ABOVE_USD" in _row(output, "settings")


def test_doctor_refuses_a_non_finite_cost_ceiling(tmp_path: Path) -> None:
    """PHASEO_MAX_COST_USD=nan is a FAIL naming the variable, never "no ceiling"."""
    code, output = _run_doctor_sync(_offline_env(tmp_path, PHASEO_MAX_COST_USD="nan"))
    assert code == 1 and "Traceback" not in output
    assert "FAIL" in _row(output, "settings") and "PHASEO_MAX_COST_USD" in output


def test_doctor_fails_on_a_corrupt_journal_and_passes_a_healthy_one(tmp_path: Path) -> None:
    """Random bytes as the journal: the journal row FAILs naming the file; a healthy journal
    is reported intact and writable."""
    state = tmp_path / "state"
    state.mkdir()
    journal = state / "journal.sqlite3"
    junk = os.urandom(16 * 1024)
    journal.write_bytes(junk)
    code, output = _run_doctor_sync(_offline_env(tmp_path))
    row = _row(output, "journal")
    assert code == 1 and "FAIL" in row and str(journal) in row and "corrupt" in row
    assert "journal check" in row and journal.read_bytes() == junk
    journal.unlink()
    from phaseo_mcp.jobs.journal_open import open_journal

    open_journal(journal_url=None, state_dir=state).close()
    _, output = _run_doctor_sync(_offline_env(tmp_path))
    assert "OK" in _row(output, "journal") and "intact and writable" in _row(output, "journal")


@pytest.mark.anyio
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)
async def test_doctor_fails_on_a_read_only_journal(tmp_path: Path) -> None:
    """The state folder mounted read-only (root ignores file modes): the journal row FAILs."""
    from phaseo_mcp.jobs.journal_open import open_journal

    state = tmp_path / "state"
    open_journal(journal_url=None, state_dir=state).close()
    script = (
        f'mount --bind "{state}" "{state}" && mount -o remount,bind,ro "{state}" "{state}" '
        '&& exec "$@"'
    )
    prefix = ("unshare", "-m", "sh", "-c", script, "sh")
    code, output = await _run_doctor(_offline_env(tmp_path), prefix=prefix)
    assert code == 1
    assert "FAIL" in _row(output, "journal") and "read-only" in _row(output, "journal")
