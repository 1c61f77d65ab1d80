"""Consoles shared by the commands. Soft wrap: messages stay on one line when piped or
captured (logs and tests read whole lines), tables still fit the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from bot.text import printable

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def safe(value: object) -> str:
    """Outside text (a setting, a title) for a rich string: no markup, no control characters.

    `[/x]` in a value would otherwise be parsed as a closing tag and crash the output, and an
    escape code would reach the terminal.
    """
    return escape(printable(str(value)))


def report_invalid_settings(problems: list[str]) -> None:
    """One line per bad setting on stderr, then where to look."""
    err_console.print("[red]Invalid settings:[/red]")
    for problem in problems:
        err_console.print(f"  {safe(problem)}", highlight=False)
    err_console.print("See .env.example (or the README's Configuration section) for every setting.")
