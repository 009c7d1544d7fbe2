"""Global options anywhere on the command line: `hoist_global_options` moves the root group's options
found after the subcommand to before it, as crane, oras and az allow (`creg tag ls app -o json`)."""

from __future__ import annotations

from collections.abc import Mapping

import click

__all__ = ["hoist_global_options"]


def _options_by_name(command: click.Command) -> dict[str, click.Option]:
    return {
        name: param
        for param in command.params
        if isinstance(param, click.Option)
        for name in (*param.opts, *param.secondary_opts)
    }


def _takes_value(option: click.Option) -> bool:
    return not option.is_flag and not option.count


def _split(token: str, options: Mapping[str, click.Option]) -> tuple[str, str | None] | None:
    """`(name, inline value)` when `token` is one of `options` (`--output=json`, `-ojson`, `-o`)."""
    if token.startswith("--"):
        name, sep, value = token.partition("=")
        return (name, value if sep else None) if name in options else None
    if token.startswith("-") and len(token) >= 2:
        name = token[:2]
        if name not in options:
            return None
        return (name, token[2:] or None) if _takes_value(options[name]) else (name, None)
    return None


def _is_flag_cluster(token: str, options: Mapping[str, click.Option]) -> bool:
    """`-vv`: a cluster of one-letter flags, each one of `options`."""
    if not token.startswith("-") or token.startswith("--") or len(token) < 3:
        return False
    return all(f"-{c}" in options and not _takes_value(options[f"-{c}"]) for c in token[1:])


def hoist_global_options(root: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
    """Move the root group's options found after the subcommand to before it, as crane, oras and az
    allow (`creg tag ls app -o json`). An option the subcommand itself defines stays its own (`login -u`);
    everything after `--` is left alone, and so are commands that pass their arguments through (`serve`)."""
    globals_ = _options_by_name(root)
    i, n = 0, len(args)
    while i < n and args[i].startswith("-") and args[i] not in ("-", "--"):
        split = _split(args[i], globals_)
        i += 2 if split and split[1] is None and _takes_value(globals_[split[0]]) else 1
    command: click.Command = root
    j = i
    while isinstance(command, click.Group) and j < n and not args[j].startswith("-"):
        sub = command.get_command(ctx, args[j])
        if sub is None:
            return args
        command, j = sub, j + 1
    if command is root or command.context_settings.get("ignore_unknown_options"):
        return args
    own = _options_by_name(command)
    moved: list[str] = []
    rest: list[str] = []
    k = j
    while k < n:
        token = args[k]
        if token == "--":
            rest += args[k:]
            break
        mine = _split(token, own)
        if mine is not None:
            step = 2 if mine[1] is None and _takes_value(own[mine[0]]) else 1
            rest += args[k : k + step]
            k += step
            continue
        theirs = _split(token, globals_)
        if theirs is not None or (_is_flag_cluster(token, globals_) and not _is_flag_cluster(token, own)):
            step = 2 if theirs and theirs[1] is None and _takes_value(globals_[theirs[0]]) else 1
            moved += args[k : k + step]
            k += step
            continue
        rest.append(token)
        k += 1
    return [*args[:i], *moved, *args[i:j], *rest]
