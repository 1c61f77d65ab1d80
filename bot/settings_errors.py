"""Everything wrong with the settings, one readable line per problem, never a pydantic dump.

Three kinds of problem, all collected before the process gives up, so one run shows them all:
- a bad value: `BOT_SCRAPE_TIMEOUT_S: must be at most 600 (got 1e309)` (secrets never shown);
- an unknown `BOT_*` name in the environment or the env file, with the closest real one:
  `BOT_MARKETPLACE_MDOE: unknown setting (in the environment); did you mean
  BOT_MARKETPLACE_MODE?` (a typo would otherwise silently fall back to the default);
- an env file that was named (`--env-file`, `BOT_ENV_FILE`) but is missing or unreadable.
"""

from __future__ import annotations

import difflib
import io
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from bot.text import printable

ENV_PREFIX = "BOT_"
ENV_FILE_VARIABLE = "BOT_ENV_FILE"
MAX_ENV_FILE_BYTES = 1_000_000
MAX_SHOWN_VALUE = 60


class SettingsError(Exception):
    """Invalid settings; `problems` holds one line per bad setting."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


# --- unknown names and the env file ---------------------------------------------------------


def env_file_problems(
    explicit: Path | None, environ: Mapping[str, str], known: set[str], *, default: Path
) -> tuple[Path | None, list[str]]:
    """The env file to read (or None) and the problems found in it and in the environment."""
    problems = _unknown_names(
        (key for key in environ if key.upper().startswith(ENV_PREFIX)), known, "the environment"
    )
    if explicit is not None:
        path: Path | None = explicit
        source = "--env-file"
    elif environ.get(ENV_FILE_VARIABLE, "").strip():
        path = Path(environ[ENV_FILE_VARIABLE].strip())
        source = ENV_FILE_VARIABLE
    else:
        path = default if default.is_file() else None
        source = str(default)
    if path is None:
        return None, problems
    if not path.is_file():
        reason = "no such file" if not path.exists() else "not a file"
        return None, [*problems, f"{source}: {reason}: {printable(str(path))}"]
    names, file_problems = _env_file_names(path)
    problems += file_problems
    problems += _unknown_names(
        (name for name, _ in names if name.upper() != ENV_FILE_VARIABLE),
        known,
        str(path),
        lines=dict(names),
    )
    problems += [
        f"{ENV_FILE_VARIABLE}: cannot be set inside an env file ({path} line {line}); "
        "use --env-file or the environment"
        for name, line in names
        if name.upper() == ENV_FILE_VARIABLE
    ]
    return (path if not file_problems else None), problems


def _env_file_names(path: Path) -> tuple[list[tuple[str, int]], list[str]]:
    """(`BOT_*` names with their line numbers, problems) of a dotenv file."""
    from dotenv.parser import parse_stream  # the parser pydantic-settings reads .env with

    try:
        if path.stat().st_size > MAX_ENV_FILE_BYTES:
            return [], [f"{path}: larger than {MAX_ENV_FILE_BYTES} bytes; is it an env file?"]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [], [f"{path}: not UTF-8 text"]
    except OSError as exc:
        return [], [f"{path}: cannot read it ({exc.strerror})"]
    names: list[tuple[str, int]] = []
    problems: list[str] = []
    for binding in parse_stream(io.StringIO(text)):
        line = binding.original.line
        if binding.error:
            snippet = printable(binding.original.string.strip(), limit=40)
            problems.append(f"{path} line {line}: not NAME=value: {snippet}")
        elif binding.key and binding.key.upper().startswith(ENV_PREFIX):
            names.append((binding.key, line))
    return names, problems


def _unknown_names(
    names: Iterable[str], known: set[str], where: str, *, lines: Mapping[str, int] | None = None
) -> list[str]:
    valid = sorted(env_name(field) for field in known)
    problems = []
    for name in names:
        if name.upper() == ENV_FILE_VARIABLE and lines is None:
            continue  # the environment may name the env file
        if name[len(ENV_PREFIX) :].lower() in known:
            continue
        place = f"{where} line {lines[name]}" if lines and name in lines else where
        shown = printable(name, limit=MAX_SHOWN_VALUE)
        close = difflib.get_close_matches(name.upper(), valid, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "see .env.example for every setting"
        problems.append(f"{shown}: unknown setting (in {place}); {hint}")
    return problems


# --- bad values -----------------------------------------------------------------------------

_REASONS = {
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "enum": "must be one of {expected}",
    "literal_error": "must be one of {expected}",
    "string_too_long": "must be at most {max_length} characters",
    "string_too_short": "must be at least {min_length} characters",
    "string_type": "must be text",
    "path_type": "must be a path",
    "missing": "is required",
}


def describe_validation_error(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per bad setting: `BOT_NAME: reason (got value)`; secrets are never shown."""
    secrets = _secret_fields(model)
    lines: list[str] = []
    seen: set[str] = set()
    for error in exc.errors(include_url=False):
        reason = _reason(error)
        loc = error.get("loc") or ()
        if not loc:  # a check across settings (mainnet needs confirmation): says its names
            lines.append(reason)
            continue
        field = str(loc[0])
        if field in seen:
            continue
        seen.add(field)
        line = f"{env_name(field)}: {reason}"
        if field not in secrets:
            line += f" (got {_shown(error.get('input'))})"
        why = _why(model, field)
        lines.append(f"{line}: {why}" if why else line)
    return lines


def _reason(error: Any) -> str:
    kind = error.get("type", "")
    context = {key: _number(value) for key, value in (error.get("ctx") or {}).items()}
    if kind == "value_error" and "error" in context:
        return printable(str(context["error"]))
    template = _REASONS.get(kind)
    if template:
        try:
            return template.format(**context)
        except (KeyError, IndexError):
            pass
    return printable(str(error.get("msg", "is invalid")))


def _number(value: object) -> object:
    """600.0 -> 600, so a bound reads as the user would write it."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _shown(value: object) -> str:
    if value is None:
        return "nothing"
    text = str(value)
    if not text:
        return "an empty value"
    return printable(text, limit=MAX_SHOWN_VALUE)


def _why(model: type[BaseModel], field: str) -> str | None:
    """A field's reason for its bounds (json_schema_extra 'why'), when the bound is not
    self-explanatory (royalties: the exchange's 50% limit)."""
    info = model.model_fields.get(field)
    extra = info.json_schema_extra if info is not None else None
    why = extra.get("why") if isinstance(extra, dict) else None
    return why if isinstance(why, str) else None


def _secret_fields(model: type[BaseModel]) -> set[str]:
    return {
        name for name, field in model.model_fields.items() if _mentions(field.annotation, SecretStr)
    }


def _mentions(annotation: object, wanted: type) -> bool:
    if annotation is wanted:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # list[Target]: tokens
        return any(_mentions(f.annotation, wanted) for f in annotation.model_fields.values())
    return any(_mentions(arg, wanted) for arg in typing.get_args(annotation))
