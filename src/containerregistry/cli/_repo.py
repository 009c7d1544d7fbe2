"""`creg repo ls|show|update|rm`: repositories (ACR metadata API; `ls` works on any OCI registry with a catalog)."""

from __future__ import annotations

from typing import Any

import click

from ..exceptions import OperationNotAllowedError, ResourceNotFoundError
from ._app import AppContext, emit_record, emit_records, fail, lock_options, lock_values, pass_app
from ._locks import explain_refusal

__all__ = ["repo"]


@click.group()
def repo() -> None:
    """Repositories: list, show, lock, delete.

    \b
    Example:
      creg repo ls
      creg repo show app
    """


@repo.command("ls")
@click.option("--page-size", type=click.IntRange(1, 1000), default=None, help="names per request")
@pass_app
def repo_ls(app: AppContext, page_size: int | None) -> None:
    """List the registry's repositories.

    \b
    Example:
      creg repo ls
      creg -r myregistry.azurecr.io -o json repo ls
    """
    with app.registry_client() as client:
        emit_records(
            app, client.list_repository_names(results_per_page=page_size), [("repository", lambda n: n)]
        )


@repo.command("show")
@click.argument("repository")
@pass_app
def repo_show(app: AppContext, repository: str) -> None:
    """Show a repository's properties (counts, times, locks).

    \b
    Example:
      creg repo show app
      creg repo show myregistry.azurecr.io/library/hello-world
    """
    ref = app.reference(repository, allow_tag=False, allow_digest=False)
    with app.registry_client(ref.client_endpoint) as client:
        emit_record(app, client.get_repository(ref.repository).get_properties())


@repo.command("update")
@click.argument("repository")
@lock_options
@pass_app
def repo_update(app: AppContext, /, repository: str, **locks: Any) -> None:
    """Change a repository's locks; only the flags given are sent.

    \b
    Example:
      creg repo update app --no-delete --no-write    # lock it
      creg repo update app --delete --write          # unlock it
    """
    changes = lock_values(locks)
    ref = app.reference(repository, allow_tag=False, allow_digest=False)
    with app.registry_client(ref.client_endpoint) as client:
        emit_record(app, client.get_repository(ref.repository).update_properties(**changes))


@repo.command("rm")
@click.argument("repository")
@pass_app
def repo_rm(app: AppContext, repository: str) -> None:
    """Delete a repository with all its manifests and tags. A repository that does not exist is an error.

    Needs the ACR API: on other registries (CNCF Distribution) it fails and says what to do instead.

    \b
    Example:
      creg repo rm app
    """
    ref = app.reference(repository, allow_tag=False, allow_digest=False)
    with app.registry_client(ref.client_endpoint) as client:
        try:
            result = client.delete_repository(ref.repository, missing_ok=False)
        except ResourceNotFoundError:
            fail(f"no repository {ref}: nothing deleted")
        except OperationNotAllowedError:
            fail(
                f"cannot delete repository {ref} (405, disallowed): {explain_refusal(client, ref.repository)}"
            )
    emit_record(app, result)
