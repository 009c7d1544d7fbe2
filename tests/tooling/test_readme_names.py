"""README.md names only what exists: commands and their options, error classes, credentials, options.

`tests/cli/test_readme.py` runs every runnable code block of the README against the emulator. This
covers what it cannot run, without a registry:
- every `creg ...` invocation in a shell block (the not-run ones too: they need Azure) and in the inline
  code of "The CLI" section (its migration table) names a command that exists, and options that that
  command (or the root group: global options go anywhere) has; `creg serve`'s options are the
  emulator's parser's;
- the "Errors" section names every public error of `containerregistry.exceptions`, and no other error
  (but the builtins it mentions);
- the "Authentication" section's credentials exist in `containerregistry.credentials`, its
  `ClientOptions(...)` fields are the dataclass's, and each whole-image function it says takes
  `client=` does, sync and async.
"""

from __future__ import annotations

import builtins
import dataclasses
import inspect
import re
import shlex
from pathlib import Path

import click

from containerregistry import ClientOptions, credentials, exceptions
from containerregistry.cli import cli
from containerregistry.emulator.__main__ import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"
_SHELL_BLOCK = re.compile(r"```sh\n(.*?)\n```", re.DOTALL)
_SHELL_OPERATORS = {"|", "||", "&", "&&", ";", "(", ")", "$(", "<", ">", ">>"}


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    level = heading.split(" ", 1)[0]
    end = re.compile(rf"^#{{1,{len(level)}}} ", re.MULTILINE).search(text, start + len(heading) + 2)
    return text[start : end.start() if end else len(text)]


def _invocations(line: str) -> list[list[str]]:
    """The `creg` commands of one shell line, as argument lists (comments and shell operators cut)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    found: list[list[str]] = []
    current: list[str] | None = None
    for token in lexer:
        if token in _SHELL_OPERATORS or token.endswith("$"):
            current = None
        elif current is not None:
            current.append(token)
        elif token == "creg":
            current = []
            found.append(current)
    return found


def _option_names(command: click.Command) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


_EMULATOR_OPTIONS = {name for action in build_parser()._actions for name in action.option_strings}


def _check(args: list[str]) -> list[str]:
    """What is wrong with `creg ARGS` (a command or option that does not exist), as messages."""
    root_options = _option_names(cli)
    takes_value = {
        name
        for param in cli.params
        if isinstance(param, click.Option) and not param.is_flag
        for name in param.opts
    }
    words = [word.strip("[]") for word in args]
    index = 0
    while index < len(words) and words[index].startswith("-"):  # global options before the command
        index += 2 if words[index] in takes_value else 1
    command: click.Command = cli
    path: list[str] = []
    while isinstance(command, click.Group) and index < len(words):
        sub = command.get_command(click.Context(command), words[index])
        if sub is None:
            return [f"creg {' '.join([*path, words[index]])}: no such command"]
        command, path, index = sub, [*path, words[index]], index + 1
    if not path:
        return [f"creg {' '.join(args)}: no command"]
    known = root_options | (_EMULATOR_OPTIONS if path == ["serve"] else _option_names(command))
    return [
        f"creg {' '.join(path)}: no option {word}"
        for word in words[index:]
        if word.startswith("-") and word != "-" and word.split("=", 1)[0] not in known
    ]


def test_every_creg_invocation_names_commands_and_options_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    lines = [line for block in _SHELL_BLOCK.findall(text) for line in block.splitlines()]
    lines += re.findall(r"`(creg [^`]*)`", _section(text, "## The CLI"))
    invocations = [args for line in lines for args in _invocations(line)]
    assert len(invocations) > 60  # the CLI section's block alone has more
    problems = [problem for args in invocations for problem in _check(args)]
    assert problems == []


def test_the_checker_finds_a_wrong_command_and_a_wrong_option() -> None:
    assert _check(["-r", "R", "tag", "ls", "app", "-o", "json"]) == []
    assert _check(["serve", "--port", "5000", "--data", "d"]) == []
    assert _check(["tag", "list", "app"]) == ["creg tag list: no such command"]
    assert _check(["copy", "A", "B", "--all-platforms"]) == ["creg copy: no option --all-platforms"]
    assert _invocations("d=$(creg blob push app f)  # the digest") == [["blob", "push", "app", "f"]]


def test_the_errors_section_names_every_public_error() -> None:
    section = _section(README.read_text(encoding="utf-8"), "## Errors")
    named = set(re.findall(r"`(\w+Error)`", section)) - set(dir(builtins))  # "(all `ValueError`s)"
    public = {name for name in exceptions.__all__ if name.endswith("Error")}
    assert sorted(public - named) == [], "README's Errors section does not name these"
    assert sorted(named - public) == [], "README's Errors section names errors that do not exist"


def test_the_authentication_section_matches_the_api() -> None:
    section = _section(README.read_text(encoding="utf-8"), "## Authentication")
    for name in re.findall(r"^\| `(\w+)\(", section, re.MULTILINE):  # the credential table
        assert name in credentials.__all__, name
    listed = re.search(r"\(`credential`, (.*?)\)\s+can travel together", section, re.DOTALL)
    assert listed is not None
    fields = {"credential", *re.findall(r"`(\w+)`", listed.group(1))}
    assert fields == {field.name for field in dataclasses.fields(ClientOptions)}
    takes = re.search(r"function that opens its own clients \((.*?)\)\s+takes `client=`", section, re.DOTALL)
    assert takes is not None
    names = re.findall(r"`(\w+)`", takes.group(1))
    assert len(names) >= 9

    import containerregistry.aio.images as async_images
    import containerregistry.images as sync_images

    for module in (sync_images, async_images):
        lacking = [
            name for name in names if "client" not in inspect.signature(getattr(module, name)).parameters
        ]
        assert lacking == [], f"{module.__name__}: no client= on {lacking}"
