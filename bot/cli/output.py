"""Consoles shared by the commands. Soft wrap: messages stay on one line when piped or
captured (logs and tests read whole lines), tables still fit the terminal."""

from rich.console import Console

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
