"""The OpenID provider for the OAuth tests: one per module (JWT access tokens for the
resource), started from the pinned npm install."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from oauthkit import Idp, running_idp  # noqa: E402


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    with running_idp(tmp_path_factory.mktemp("idp")) as provider:
        yield provider
