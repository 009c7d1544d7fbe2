"""Generated bad input against the token service and authorize(): always a 2xx/4xx with a JSON body."""

from __future__ import annotations

import base64

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ThreadServer

_FIELDS = st.sampled_from(
    ["grant_type", "scope", "service", "username", "password", "refresh_token", "access_token", "tenant", "x"]
)
_VALUES = st.one_of(
    st.sampled_from(
        [
            "password",
            "refresh_token",
            "access_token",
            "repository:app:pull",
            "registry:catalog:*",
            "admin",
            "",
        ]
    ),
    st.text(max_size=60),
)
_AUTH = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60),
    st.builds(
        lambda raw: "Basic " + base64.b64encode(raw).decode(),
        st.binary(max_size=40),
    ),
    st.builds(lambda text: "Bearer " + text, st.text(alphabet="abcdefghijklmnopqrstuvwxyz.-_", max_size=80)),
)
_OK = {200, 400, 401, 413}


def _check(response: httpx.Response) -> None:
    assert response.status_code in _OK, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    if response.status_code >= 400:
        assert body["errors"][0]["code"]
        assert "Traceback" not in response.text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    form=st.lists(st.tuples(_FIELDS, _VALUES), max_size=6),
    auth=_AUTH,
    path=st.sampled_from(["/oauth2/token", "/oauth2/exchange"]),
    method=st.sampled_from(["GET", "POST"]),
)
def test_token_service_never_fails_on_bad_input(
    thread_server: ThreadServer,
    form: list[tuple[str, str]],
    auth: str | None,
    path: str,
    method: str,
) -> None:
    headers = {"Authorization": auth} if auth is not None else {}
    if path == "/oauth2/exchange" and method == "GET":
        return  # no such route (the app answers 405 from aiohttp itself)
    with httpx.Client(base_url=thread_server.endpoint, timeout=10) as client:
        try:
            if method == "GET":
                response = client.get(path, params=tuple(form), headers=headers)
            else:
                response = client.post(
                    path,
                    content=str(httpx.QueryParams(tuple(form))).encode(),
                    headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
                )
        except httpx.LocalProtocolError:
            return  # httpx itself refused the generated header; nothing reached the server
        _check(response)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(auth=_AUTH, actions=st.sampled_from(["pull", "push", "pull,push", "delete", "metadata_read"]))
def test_authorize_answers_200_or_challenge(
    thread_server: ThreadServer, auth: str | None, actions: str
) -> None:
    headers = {"Authorization": auth} if auth is not None else {}
    with httpx.Client(base_url=thread_server.endpoint, timeout=10) as client:
        try:
            response = client.get(f"/check/repository/{actions}/app", headers=headers)
        except httpx.LocalProtocolError:
            return
    # Only anonymous pull/metadata_read may pass without a real token: nothing generated here is one.
    if not auth and actions in ("pull", "metadata_read"):  # an empty header is no credential
        assert response.status_code == 200
    else:
        assert response.status_code == 401, (auth, actions, response.text)
        assert response.headers["www-authenticate"].startswith('Bearer realm="')
