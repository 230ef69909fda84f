"""`mlci config` and `mlci storage`: the settings in force, and the places they name, reached once."""

from __future__ import annotations

import argparse
import sys

from mlci.cli.common import Commands, repository
from mlci.core.config import load_config


def config_command(args: argparse.Namespace) -> int:
    """Validate the config file and print the settings in force, defaults included."""
    config = load_config(args.config)
    print(f"{args.config}: valid", file=sys.stderr)
    print(config.model_dump_json(indent=2))
    return 0


def storage_command(args: argparse.Namespace) -> int:
    """Reach every place the repository stores things; exit 2 when any cannot be used."""
    from mlci.core.storage import StorageError, UnreachableError, check, locations

    opened = repository(args)
    failed = 0
    for location in locations(opened.config, opened.root):
        try:
            print(f"{location.url} ({location.setting}): {check(location)}")
        except UnreachableError:
            raise  # the locations behind the same service would each wait as long to fail the same way
        except StorageError as error:
            print(f"mlci: error: {error}", file=sys.stderr)
            failed += 1
    return 2 if failed else 0


def add(commands: Commands) -> None:
    config_parser = commands.add_parser("config", help="validate the config file and print its settings")
    config_parser.set_defaults(handler=config_command)
    storage_parser = commands.add_parser(
        "storage",
        help="reach the DVC remote, the artifact store, the inference log and the data source once",
        description="Checks that each bucket exists and that the credentials in the environment may list it, "
        "through [storage] endpoint or AWS_ENDPOINT_URL when set. Exit 2 names each location that fails and what "
        "to check.",
    )
    storage_parser.set_defaults(handler=storage_command)
