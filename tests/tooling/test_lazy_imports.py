"""Start-up stays light: what `creg --help`, `creg tag ls`, `import containerregistry` and `import
containerregistry.images` load (issue 14).

No clocks: each check runs what the `creg` console script runs in a fresh interpreter, records
`sys.modules` as it exits, and asserts which heavy packages are among them (`-X importtime` would not
do: it does not list modules loaded through `importlib.import_module`, as lazy loading does). The lazy
packages (PEP 562: the top level, `images`, `aio.images`, `aio` and its sync twin `_sync`) must still
offer every public name, and each one's three lists of names (the imports type checkers read, the lazy
table, `__all__`) must agree.

What binds the top level's names all at once: the first use of one, or importing `containerregistry.aio`
(then `vars(containerregistry)` lists every name, as tests/test_public_api.py reads it). Importing the
private `containerregistry._sync` no longer does (it did until the sync package became lazy): binding
them all would load every sync client module, and `creg tag ls`, which imports the registry client's
module only, would pay for the content client's upload and download stack again.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import containerregistry
import containerregistry._sync
import containerregistry.aio
import containerregistry.aio.images
import containerregistry.images
from containerregistry.emulator import RunningEmulator

#: The lazy modules: each has a `TYPE_CHECKING` block, a `_LAZY_MODULES` table and `__all__`.
LAZY = (
    containerregistry,
    containerregistry.images,
    containerregistry.aio.images,
    containerregistry.aio,
    containerregistry._sync,
)

#: The content client's stack (uploads, downloads, the file writer): no use to a listing.
CONTENT_STACK = (
    "containerregistry._sync._content_client",
    "containerregistry._sync._blob_upload",
    "containerregistry._sync._blob_download",
    "containerregistry._sync._ranged",
    "containerregistry._blob_file",
    "containerregistry.protocol.upload",
    "concurrent.futures",  # the sync hashing pool, made for the first large blob verified
)

#: Heavy packages `creg --help` has no use for (the brief of issue 14, plus httpx and asyncio).
NOT_FOR_HELP = (
    "aiohttp",
    "rich",
    "cryptography",
    "jwt",
    "azure",
    "urllib3",
    "httpx",
    "asyncio",
    "containerregistry.emulator",
    "containerregistry.images",
    "containerregistry._sync",
    "containerregistry.aio",
)


#: Run before the code under test: write the loaded modules to $MODULES_OUT when the interpreter exits
#: (a None entry is an import blocked on purpose, not a module).
PRELUDE = """
import atexit, os, sys
def _dump():
    with open(os.environ["MODULES_OUT"], "w", encoding="utf-8") as out:
        out.write("\\n".join(sorted(k for k, v in sys.modules.items() if v is not None)))
atexit.register(_dump)
"""

#: What the `creg` console script runs (its generated wrapper: `from containerregistry.cli import main`).
CREG = "import sys\nfrom containerregistry.cli import main\nsys.argv = ['creg', *{argv!r}]\nmain()\n"


def imported(code: str, tmp_path: Path, **env: str) -> set[str]:
    """Every module in `sys.modules` when a fresh interpreter running `code` (with `env` added to the
    environment) exits (it must exit 0)."""
    out = tmp_path / f"modules-{len(list(tmp_path.iterdir()))}.txt"
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "MODULES_OUT": str(out), **env},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(out.read_text(encoding="utf-8").split())


def creg(tmp_path: Path, *argv: str, **env: str) -> set[str]:
    """The modules `creg ARGV` loaded."""
    return imported(CREG.format(argv=list(argv)), tmp_path, **env)


def heavy(modules: set[str], watched: tuple[str, ...]) -> list[str]:
    """The watched packages (or subpackages) among `modules`."""
    return sorted(w for w in watched if any(m == w or m.startswith(w + ".") for m in modules))


def test_creg_help_imports_nothing_heavy(tmp_path: Path) -> None:
    modules = creg(tmp_path, "--help")
    assert heavy(modules, NOT_FOR_HELP) == []
    # and no command's implementation: commands are registered by name (cli/_lazy.py). The root group is
    # _app.py and the light modules it is built from (context, errors, option hoisting, output).
    commands = sorted(m for m in modules if m.startswith("containerregistry.cli."))
    assert commands == [
        "containerregistry.cli._app",
        "containerregistry.cli._context",
        "containerregistry.cli._errors",
        "containerregistry.cli._hoist",
        "containerregistry.cli._lazy",
        "containerregistry.cli._output",
    ]


def test_a_group_help_loads_only_that_group(tmp_path: Path) -> None:
    modules = creg(tmp_path, "tag", "--help")
    assert heavy(modules, NOT_FOR_HELP) == []
    assert "containerregistry.cli._tag" in modules
    assert "containerregistry.cli._inspect" not in modules  # `tag add` lives there: loaded when it runs
    assert "containerregistry.cli._images" not in modules


def test_import_containerregistry_loads_no_http_stack(tmp_path: Path) -> None:
    modules = imported("import containerregistry", tmp_path)
    assert heavy(modules, NOT_FOR_HELP) == []


def test_creg_tag_ls_loads_no_async_or_token_stack(
    registry_emulator: RunningEmulator, tmp_path: Path
) -> None:
    from containerregistry import ContainerRegistryContentClient

    with ContainerRegistryContentClient(registry_emulator.endpoint, "tooling/startup") as content:
        config = content.upload_blob(b"{}")
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config.digest, "size": 2},
            "layers": [],
        }
        content.set_manifest(manifest, tag="v1")
    # host:port without a scheme, as users type it: the client probes the scheme too.
    reference = f"{registry_emulator.endpoint.split('://', 1)[1]}/tooling/startup"
    # a docker config without credential helpers (the helper code, and subprocess, load only for one)
    docker_dir = tmp_path / "docker"
    docker_dir.mkdir()
    (docker_dir / "config.json").write_text('{"auths": {}}', encoding="utf-8")
    modules = creg(tmp_path, "tag", "ls", reference, DOCKER_CONFIG=str(docker_dir))
    assert {"httpx", "urllib3", "rich.table"} <= modules  # it talked to the registry and printed a table
    watched = ("aiohttp", "asyncio", "cryptography", "jwt", "azure", "containerregistry.emulator")
    assert heavy(modules, watched) == []
    # nor httpx's own command line (rich.syntax, rich.progress, pygments): creg never runs it
    assert heavy(modules, ("httpx._main", "pygments", "rich.syntax", "rich.progress")) == []
    # nor the image engines: the reference is a `RegistryLocation`, whose small module is all of images/ it loads
    assert heavy(modules, ("containerregistry.images._sync", "containerregistry.images._async")) == []
    assert sorted(m for m in modules if m.startswith("containerregistry.images")) == [
        "containerregistry.images",
        "containerregistry.images._locations",
    ]
    # nor the content client: `tag ls` lists through the registry client (ACR API) and the emulator has it
    assert heavy(modules, CONTENT_STACK) == []
    assert heavy(modules, ("subprocess", "containerregistry.auth._helper")) == []


def test_a_sync_client_module_binds_no_names_and_aio_binds_them_all(tmp_path: Path) -> None:
    """Importing one sync client module loads that client's stack only and binds none of the top level's
    names; importing `containerregistry.aio` binds them all (the module docstring says why)."""
    code = (
        "import containerregistry as cr, containerregistry._sync._registry_client as rc\n"
        "assert [n for n in cr.__all__ if n in vars(cr)] == [], 'names bound by a _sync import'\n"
        "assert cr._sync.ContainerRegistryClient is rc.ContainerRegistryClient\n"
        "assert cr.ContainerRegistryClient is rc.ContainerRegistryClient\n"
    )
    modules = imported(code, tmp_path)
    assert "containerregistry._sync._content_client" in modules  # the first public name bound them all
    modules = imported(
        "import containerregistry as cr, containerregistry._sync._registry_client\n"
        "assert 'ContainerRegistryClient' not in vars(cr)\n",
        tmp_path,
    )
    assert heavy(modules, CONTENT_STACK) == []
    code = (
        "import containerregistry as cr, containerregistry.aio\n"
        "missing = [n for n in cr.__all__ if n not in vars(cr)]\n"
        "assert missing == [], missing\n"
    )
    imported(code, tmp_path)


#: Run before `creg`: print which thread first imports each module of the HTTP client stack.
WHO_IMPORTS = """
import sys, threading
class _Who:
    def find_spec(self, name, path=None, target=None):
        if name in ("httpx", "urllib3", "containerregistry._sync"):
            print("IMPORTED", name, threading.current_thread().name, file=sys.stderr)
        return None
sys.meta_path.insert(0, _Who())
"""


def test_creg_imports_the_client_stack_on_a_fresh_stack(registry_emulator: RunningEmulator) -> None:
    """The sync client stack is imported at the top of a new thread's stack, not at the depth of a click
    command: on CPython 3.11 the regular-expression compiler, run by imports, is several times slower at
    some stack depths (frame chunks mapped and unmapped as its recursion crosses their boundary; about
    40 ms of `creg tag ls` before). See `cli._context.import_on_fresh_stack`."""
    from containerregistry.cli._context import import_on_fresh_stack

    argv = ["-r", registry_emulator.endpoint, "repo", "ls"]
    done = subprocess.run(
        [sys.executable, "-c", WHO_IMPORTS + CREG.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first: dict[str, str] = {}
    for line in done.stderr.splitlines():
        if line.startswith("IMPORTED "):
            _, name, thread = line.split(" ", 2)
            first.setdefault(name, thread)
    assert first == {name: "creg-import" for name in ("containerregistry._sync", "httpx", "urllib3")}
    # a module that fails to import is the caller's to report, from its own import
    import_on_fresh_stack("containerregistry.no_such_module")
    with pytest.raises(ModuleNotFoundError):
        import containerregistry.no_such_module  # type: ignore[import-not-found]  # noqa: F401


def _type_checking_imports(module: ModuleType) -> dict[str, tuple[str, ...]]:
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    blocks = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and "TYPE_CHECKING" in node.test.id
    ]
    assert len(blocks) == 1
    found: dict[str, tuple[str, ...]] = {}
    for node in blocks[0].body:
        assert isinstance(node, ast.ImportFrom)
        found["." * node.level + (node.module or "")] = tuple(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("module", LAZY, ids=lambda m: m.__name__)
def test_the_lazy_table_matches_the_typed_imports_and_all(module: ModuleType) -> None:
    lazy = module._LAZY_MODULES
    assert _type_checking_imports(module) == lazy
    names = [name for names in lazy.values() for name in names]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(module.__all__)


@pytest.mark.parametrize("module", LAZY, ids=lambda m: m.__name__)
def test_every_public_name_imports_in_a_fresh_interpreter(module: ModuleType) -> None:
    code = (
        f"import importlib, {module.__name__} as lazy\n"
        f"from {module.__name__} import *\n"
        "for name in lazy.__all__:\n"
        "    home = importlib.import_module(lazy._MODULE_OF[name], lazy.__package__)\n"
        "    assert globals()[name] is getattr(home, name) is getattr(lazy, name), name\n"
        "    assert name in dir(lazy), name\n"
        "    assert name in vars(lazy), name\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_a_name_is_the_object_of_its_home_module() -> None:
    one = "from containerregistry import RetryPolicy\nfrom containerregistry.transport import RetryPolicy as R\nassert RetryPolicy is R\n"
    done = subprocess.run(
        [sys.executable, "-c", one], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_import_images_loads_no_http_stack_and_no_engine(tmp_path: Path) -> None:
    """`import containerregistry.images` loads no engine, client or HTTP stack until a name is used; its
    models, which the CLI resolves references to (`RegistryLocation`), are as cheap; `aio.images` loads
    no engine beyond what `aio` itself loads."""
    engines = ("containerregistry.images._sync", "containerregistry.images._async")
    watched = (*(w for w in NOT_FOR_HELP if w != "containerregistry.images"), *engines)
    modules = imported("import containerregistry.images", tmp_path)
    assert heavy(modules, watched) == []
    assert sorted(m for m in modules if m.startswith("containerregistry.images")) == [
        "containerregistry.images"
    ]
    modules = imported(
        "from containerregistry.images import RegistryLocation, parse_image_location", tmp_path
    )
    assert (
        heavy(modules, (*watched, "containerregistry.images._layout", "containerregistry.images._archive"))
        == []
    )
    assert sorted(m for m in modules if m.startswith("containerregistry.images")) == [
        "containerregistry.images",
        "containerregistry.images._locations",
    ]
    modules = imported("import containerregistry.aio.images", tmp_path)
    assert "aiohttp" in modules  # with the async API, as before
    assert heavy(modules, engines) == []
    # and a name, once used, loads its engine
    modules = imported("from containerregistry.images import copy_image", tmp_path)
    assert "containerregistry.images._sync._copy" in modules
