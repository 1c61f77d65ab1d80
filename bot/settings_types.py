"""Value types the settings modules share: URLs, directories, secrets, blank-means-unset.

Each is an annotated type so that a bad value is one line naming the setting (pydantic puts
the setting's name on the error; `bot.settings_errors` turns it into BOT_<NAME>).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, SecretStr

from bot import settings_checks as checks


def blank_is_unset(value: object) -> object:
    """`BOT_X=` (as copied from .env.example) means "not set" for an optional setting."""
    return None if isinstance(value, str) and not value.strip() else value


HttpUrl = Annotated[str, AfterValidator(checks.http_url)]
OptionalHttpUrl = Annotated[HttpUrl | None, BeforeValidator(blank_is_unset)]
DirectoryPath = Annotated[
    Path, BeforeValidator(checks.path_text), AfterValidator(checks.directory_path)
]
Secret = Annotated[SecretStr | None, BeforeValidator(checks.secret_text)]
