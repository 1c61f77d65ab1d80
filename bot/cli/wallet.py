"""`bot wallet create | import | address | export-public`: the keystore under <data_dir>/wallet.

The private key is read from a hidden prompt, stdin or a file, never from the command line
(where `ps` and shell history would keep it). The passphrase comes from BOT_WALLET_PASSPHRASE
(unattended) or a hidden prompt.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from bot.cli.output import console, safe
from bot.cli.output import err_console as err
from bot.text import printable

if TYPE_CHECKING:  # eth_account takes ~1 s to import: only the wallet commands load it
    from bot.context import AppContext
    from marketplace.wallet import KeystoreInfo, WalletError

wallet_app = typer.Typer(
    help="The signing key (Ethereum v3 keystore, scrypt).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(wallet_app, name="wallet")


def _wallet_dir(ctx: typer.Context) -> Path:
    context: AppContext = ctx.obj
    return context.settings.wallet_dir


def _new_passphrase(ctx: typer.Context) -> str:
    context: AppContext = ctx.obj
    if context.settings.wallet_passphrase:
        return context.settings.wallet_passphrase.get_secret_value()
    if not sys.stdin.isatty():
        err.print("[red]set BOT_WALLET_PASSPHRASE or run in a terminal to type one[/red]")
        raise typer.Exit(2)
    return typer.prompt("Passphrase", hide_input=True, confirmation_prompt=True)


def _fail(exc: WalletError) -> typer.Exit:
    """A wallet problem is a configuration error (exit status 2): a missing or damaged
    keystore, a wrong passphrase, a key that is not one, a keystore it would overwrite."""
    err.print(Text.assemble(("wallet:", "red"), " ", printable(str(exc))))
    return typer.Exit(2)


def _scrypt_n(value: int | None) -> int | None:
    from marketplace.wallet import WalletError, check_scrypt_n

    try:
        check_scrypt_n(value)
    except WalletError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def _checked_info(ctx: typer.Context) -> KeystoreInfo:
    """The keystore's public facts; with a passphrase at hand, the stored address is checked
    against the key it decrypts, so an edited address is never shown as ours."""
    from marketplace.wallet import keystore_info, unlock

    context: AppContext = ctx.obj
    info = keystore_info(_wallet_dir(ctx))
    if context.settings.wallet_passphrase:
        unlock(_wallet_dir(ctx), context.settings.wallet_passphrase.get_secret_value())
    return info


@wallet_app.command("create")
def create(
    ctx: typer.Context,
    scrypt_n: int | None = typer.Option(
        None,
        "--scrypt-n",
        callback=_scrypt_n,
        help="scrypt work factor, a power of two from 16384 (2^14) to 2^20; default 2^18.",
    ),
) -> None:
    """Generate a new key and store it encrypted. Refuses to overwrite an existing keystore."""
    from marketplace.wallet import WalletError, create_keystore

    try:
        address = create_keystore(_wallet_dir(ctx), _new_passphrase(ctx), scrypt_n=scrypt_n)
    except WalletError as exc:
        raise _fail(exc) from None
    console.print(f"created keystore for {address} in {safe(_wallet_dir(ctx))}")
    console.print("Back up the keystore file and the passphrase: without both the key is lost.")


@wallet_app.command("import")
def import_(
    ctx: typer.Context,
    key_file: Path | None = typer.Option(
        None, "--key-file", help="File holding the hex private key (else prompt or stdin)."
    ),
    scrypt_n: int | None = typer.Option(
        None, "--scrypt-n", callback=_scrypt_n, help="scrypt work factor (as for create)."
    ),
) -> None:
    """Store an existing private key encrypted."""
    from marketplace.wallet import WalletError, import_keystore

    if key_file is not None:
        try:
            key = key_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            err.print(f"[red]wallet:[/red] cannot read {safe(key_file)}: {safe(exc.strerror)}")
            raise typer.Exit(2) from None
    elif sys.stdin.isatty():
        key = typer.prompt("Private key (hex)", hide_input=True)
    else:
        key = sys.stdin.readline().strip()
    try:
        address = import_keystore(_wallet_dir(ctx), key, _new_passphrase(ctx), scrypt_n=scrypt_n)
    except WalletError as exc:
        raise _fail(exc) from None
    console.print(f"imported {address} into {safe(_wallet_dir(ctx))}")


@wallet_app.command("address")
def address(ctx: typer.Context) -> None:
    """Print the wallet address; checked against the key when BOT_WALLET_PASSPHRASE is set."""
    from marketplace.wallet import WalletError

    try:
        typer.echo(_checked_info(ctx).address)
    except WalletError as exc:
        raise _fail(exc) from None


@wallet_app.command("export-public")
def export_public(ctx: typer.Context) -> None:
    """Print what may be shared: address, keystore location and KDF, network. Never the key."""
    from marketplace.networks import network_for_mode
    from marketplace.wallet import WalletError

    context: AppContext = ctx.obj
    try:
        info = _checked_info(ctx)
    except WalletError as exc:
        raise _fail(exc) from None
    mode = context.settings.marketplace_mode.value
    network = network_for_mode(mode)
    typer.echo(
        json.dumps(
            {
                "address": info.address,
                "keystore": str(info.path),
                "kdf": info.kdf,
                "scrypt_n": info.scrypt_n,
                "marketplace_mode": mode,
                "chain_id": network.chain_id,
                "collection": context.settings.rarible_collection or network.collection,
            },
            indent=2,
        )
    )
