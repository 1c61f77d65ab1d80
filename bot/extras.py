"""The optional parts of the install (pyproject extras) and what a command says when its
extra is missing.

The core install (import, EDA, curate, scrape without a browser, images, pin, publish, bids,
reports, the daemon) has no torch. A command that needs more calls `require_extra` before it
imports anything heavy; a missing piece is a one-line message naming the extra to install,
and exit code 2 (the CLI catches `MissingExtra`; see `bot/cli/app.py`).

Presence is checked with `importlib.util.find_spec`, which finds a module without importing
it, so the check costs nothing even when torch is there.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Extra:
    name: str  # as in pyproject.toml: pip install 'nftbot[<name>]'
    label: str  # in words: "bot generate needs the <label> extra"
    modules: tuple[str, ...]  # top-level import names the extra provides

    @property
    def install_hint(self) -> str:
        return f"pip install 'nftbot[{self.name}]'"


# Keep in step with [project.optional-dependencies] in pyproject.toml (a test checks that
# every module here comes from a package of that extra).
EXTRAS: dict[str, Extra] = {
    extra.name: extra
    for extra in (
        Extra(
            "generate",
            "generator",
            (
                "torch",
                "torchvision",
                "kornia",
                "clip",
                "taming",
                "einops",
                "safetensors",
                "cv2",
                "spandrel",
                "imagehash",
            ),
        ),
        Extra("browser", "browser", ("playwright",)),
        Extra("postgres", "postgres", ("psycopg",)),
        Extra("ray", "ray", ("ray",)),
    )
}


class MissingExtra(RuntimeError):
    """A command needs an extra that is not installed (or only partly)."""

    def __init__(self, command: str, extra: Extra, missing: list[str]) -> None:
        self.command = command
        self.extra = extra
        self.missing = missing
        message = f"{command} needs the {extra.label} extra: {extra.install_hint}"
        if set(missing) != set(extra.modules):  # a partial install: say what is missing
            message += f" (missing: {', '.join(missing)})"
        super().__init__(message)


def module_available(name: str) -> bool:
    """True when `name` can be found for import; never imports it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent that fails, or a blocked module
        return False


def missing_modules(extra: str) -> list[str]:
    return [name for name in EXTRAS[extra].modules if not module_available(name)]


def require_extra(extra: str, command: str) -> None:
    """Raise `MissingExtra` when any module of `extra` is missing, naming `command`."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtra(command, EXTRAS[extra], missing)


def extra_for_module(module: str | None) -> Extra | None:
    """The extra that provides `module` (a dotted name is matched by its top level)."""
    if not module:
        return None
    top = module.split(".", 1)[0]
    for extra in EXTRAS.values():
        if top in extra.modules:
            return extra
    return None
