"""How invalid settings are shown: one line per problem on stderr, exit code 2 by the caller.

The lines come from `bot.settings_errors`, with values already made printable; they are
printed without markup, so a value such as `[/x]` is shown as written instead of crashing
the message.
"""

from __future__ import annotations

from bot.cli.output import err_console


def report_invalid_settings(problems: list[str]) -> None:
    err_console.print("[red]Invalid settings:[/red]")
    for problem in problems:
        err_console.print(f"  {problem}", markup=False, highlight=False)
    err_console.print(
        "See .env.example (or the README's Configuration section) for every setting.",
        markup=False,
        highlight=False,
    )
