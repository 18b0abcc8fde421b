"""The console over HTTP (issue 22, item 4), against the real database and broker: its sign-in and sessions
(HttpOnly, SameSite=Strict cookie; anti-forgery on every form; a session ends with its token, when idle, at
sign-out), its pages as each role sees them (the API's policy decides, not the console), and the actions it
makes as the person (persisted, audited under their token). The browser tests (tests/browser/) drive the same
pages in Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from services.api.policy import match_request
from services.auth.roles import Role
from services.console.sessions import COOKIE
from services.console.web import SECTIONS
from tests.conftest import count
from tests.integration import scenes

pytestmark = pytest.mark.integration
HOST = "http://testserver"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def browser(stack) -> Iterator[TestClient]:
    """A client with a cookie jar and no bearer token: the console's own user."""
    from services.api.main import create_app

    with TestClient(create_app(stack), follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, token: str, suite: str = "/console/") -> object:
    page = client.get("/console/connexion")
    csrf = CSRF.search(page.text).group(1)
    return client.post(
        "/console/connexion", data={"csrf": csrf, "jeton": token, "suite": suite}, headers={"Origin": HOST}
    )


def csrf_of(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return CSRF.search(page.text).group(1)


def frost_alert(stack, db, uid: str) -> int:
    return scenes.frost_alert(stack, db, f"co{uid}")


def test_signing_in_gives_an_httponly_strict_session_cookie_and_never_keeps_the_token(browser, issue_token, db) -> None:
    token = issue_token("green_spaces", name="jardinier")
    signed = sign_in(browser, token, suite="/console/alertes")
    assert signed.status_code == 303 and signed.headers["location"] == "/console/alertes"
    cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite"} <= attributes and "samesite=strict" in cookie.lower()
    assert "path=/console" in cookie.lower()
    value = cookie.split(";")[0].split("=", 1)[1]
    assert token not in cookie and value not in token  # the browser holds a session id, not the token
    stored = db.execute("SELECT id_sha256 FROM console_sessions ORDER BY created_at DESC LIMIT 1").fetchone()
    assert value not in stored["id_sha256"]  # stored hashed
    home = browser.get("/console/")
    assert home.status_code == 200 and "jardinier" in home.text and "espaces verts" in home.text
    assert home.headers["content-security-policy"].startswith("default-src 'self'")
    assert home.headers["x-frame-options"] == "DENY" and home.headers["cache-control"] == "no-store"


def test_a_bad_token_a_forged_sign_in_and_a_foreign_next_page_are_refused(browser, issue_token) -> None:
    refused = sign_in(browser, "tlab_1_" + "x" * 43)
    assert refused.status_code == 401 and "pas valide" in refused.text
    assert not any(c.startswith(f"{COOKIE}=") for c in refused.headers.get_list("set-cookie"))
    forged = browser.post(  # another site's form: no sign-in cookie of ours, another origin
        "/console/connexion", data={"csrf": "x" * 43, "jeton": issue_token("admin")}, headers={"Origin": "https://evil"}
    )
    assert forged.status_code == 403 and "Action refusée" in forged.text
    for elsewhere in ("https://evil.example/", "//evil.example/console", "/console/../\\evil", "/\\evil"):
        signed = sign_in(browser, issue_token("viewer"), suite=elsewhere)
        assert signed.headers["location"].startswith("/console") and "evil" not in signed.headers["location"]


def test_without_a_session_a_page_sends_to_the_sign_in_and_the_cookie_opens_no_api_route(browser, issue_token) -> None:
    gone = browser.get("/console/alertes?etat=toutes")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/console/connexion?suite=")
    assert "%2Fconsole%2Falertes%3Fetat%3Dtoutes" in gone.headers["location"]
    sign_in(browser, issue_token("admin"))
    assert browser.get("/console/alertes").status_code == 200
    assert browser.get("/v1/alerts").status_code == 401  # the session is the console's, not a bearer token


def test_a_session_ends_when_its_token_is_revoked_when_idle_and_at_sign_out(
    browser, api, issue_token, db, stack
) -> None:
    token = issue_token("viewer", name="revoked-soon")
    sign_in(browser, token)
    assert browser.get("/console/appareils").status_code == 200
    token_id = int(token.split("_")[1])
    assert api.delete(f"/v1/tokens/{token_id}").status_code == 204
    assert browser.get("/console/appareils").status_code == 303
    ended = db.execute("SELECT ended_why FROM console_sessions WHERE token_id = %s", (token_id,)).fetchone()
    assert ended["ended_why"] == "token_revoked"

    sign_in(browser, issue_token("viewer", name="idle"))
    assert browser.get("/console/").status_code == 200
    idle = timedelta(minutes=stack.console_idle_minutes + 1)
    db.execute("UPDATE console_sessions SET last_seen_at = now() - %s WHERE ended_at IS NULL", (idle,))
    assert browser.get("/console/").status_code == 303

    sign_in(browser, issue_token("viewer", name="leaving"))
    cookie = browser.cookies.get(COOKIE)
    out = browser.post("/console/deconnexion", data={"csrf": csrf_of(browser, "/console/")}, headers={"Origin": HOST})
    assert out.status_code == 303 and out.headers["location"] == "/console/connexion"
    browser.cookies.set(COOKIE, cookie, path="/console")  # the old cookie, replayed
    assert browser.get("/console/").status_code == 303


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_sees_the_sections_the_api_policy_gives_it_and_no_other(browser, issue_token, role) -> None:
    sign_in(browser, issue_token(role))
    home = browser.get("/console/")
    for slug, name, method, path in SECTIONS:
        allowed = bool(match_request(method, path)[1].roles & {Role(role)})
        assert (f'href="/console/{slug}"' in home.text) is allowed, (role, slug)
        page = browser.get(f"/console/{slug}")
        assert page.status_code == (200 if allowed else 403), (role, slug, page.status_code)
        if not allowed:
            assert "Accès refusé" in page.text and name not in page.text.split("<main")[1].split("</h1>")[0]


def test_green_spaces_acknowledges_its_alert_through_the_console_persisted_and_audited_under_its_token(
    browser, issue_token, db, stack, ingest, uid
) -> None:
    alert = frost_alert(stack, db, uid)
    token = issue_token("green_spaces", name=f"jardinier-{uid}")
    sign_in(browser, token)
    listed = browser.get("/console/alertes")
    assert f'href="/console/alertes/{alert}"' in listed.text and "Température de l" in listed.text
    csrf = csrf_of(browser, f"/console/alertes/{alert}")

    forged = browser.post(
        f"/console/alertes/{alert}/acquitter", data={"csrf": "no", "note": "x"}, headers={"Origin": HOST}
    )
    other_site = browser.post(
        f"/console/alertes/{alert}/acquitter", data={"csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert forged.status_code == other_site.status_code == 403
    assert db.execute("SELECT state FROM alerts WHERE id = %s", (alert,)).fetchone()["state"] == "firing"

    done = browser.post(
        f"/console/alertes/{alert}/acquitter", data={"csrf": csrf, "note": "j'y vais"}, headers={"Origin": HOST}
    )
    assert done.status_code == 303 and done.headers["location"].startswith(f"/console/alertes/{alert}?fait=")
    row = db.execute("SELECT state, acknowledged_by FROM alerts WHERE id = %s", (alert,)).fetchone()
    assert row["state"] == "acknowledged" and row["acknowledged_by"] == f"jardinier-{uid}"
    audit = db.execute(
        "SELECT principal, token_id, user_agent, status FROM audit_log WHERE path = %s ORDER BY id DESC LIMIT 1",
        (f"/v1/alerts/{alert}/ack",),
    ).fetchone()
    assert audit["principal"] == f"jardinier-{uid}" and audit["token_id"] == int(token.split("_")[1])
    assert audit["user_agent"].endswith("(console)") and audit["status"] == 200
    page = browser.get(done.headers["location"])
    assert "prise en charge" in page.text and "j&#39;y vais" in page.text

    again = browser.post(f"/console/alertes/{alert}/acquitter", data={"csrf": csrf}, headers={"Origin": HOST})
    assert again.status_code == 409 and "Action impossible" in again.text  # the API's 409, said in a French page
    assert "erreur" not in again.headers.get("location", "")


def test_a_role_outside_the_alerts_service_gets_a_404_page_and_cannot_act(
    browser, issue_token, db, stack, ingest, uid
) -> None:
    alert = frost_alert(stack, db, uid)
    sign_in(browser, issue_token("sanitation"))
    assert browser.get(f"/console/alertes/{alert}").status_code == 404
    csrf = csrf_of(browser, "/console/")
    refused = browser.post(f"/console/alertes/{alert}/resoudre", data={"csrf": csrf}, headers={"Origin": HOST})
    assert refused.status_code == 404
    assert db.execute("SELECT state FROM alerts WHERE id = %s", (alert,)).fetchone()["state"] == "firing"
    sign_in(browser, issue_token("viewer"))  # the viewer's service is not green_spaces either
    assert browser.get(f"/console/alertes/{alert}").status_code == 404
    sign_in(browser, issue_token("green_spaces"))
    own = browser.get(f"/console/alertes/{alert}")
    assert own.status_code == 200 and "/acquitter" in own.text


def test_files_come_through_the_api_as_the_person_with_the_api_s_refusals(browser, issue_token) -> None:
    sign_in(browser, issue_token("green_spaces"))
    csv = browser.get("/console/api/v1/alerts.csv?dialect=excel-fr")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert csv.headers["content-security-policy"].endswith("sandbox")
    assert browser.get("/console/api/v1/incidents.csv").status_code == 403
    assert browser.get("/console/api/v1/tokens").status_code == 403
    assert browser.get("/console/api/v1/alerts/stream").status_code == 404
    assert browser.get("/console/api/v1/no-such-route").status_code == 404


def test_hostile_forms_and_paths_get_a_clear_4xx(browser, issue_token, db) -> None:
    sign_in(browser, issue_token("admin"))
    csrf = csrf_of(browser, "/console/")
    huge = browser.post(
        "/console/alertes/1/assigner", content=b"csrf=" + csrf.encode() + b"&assignee=" + b"a" * 20000,
        headers={"Origin": HOST, "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    assert huge.status_code == 413  # the API's guard bounds every body before any route reads it
    bad_bytes = browser.post(  # bytes that are no UTF-8 and a NUL, to an alert that does not exist: no 500
        f"/console/alertes/{2**62}/assigner", content=b"csrf=" + csrf.encode() + b"&assignee=%ff%fe%00",
        headers={"Origin": HOST, "Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    # the NUL is refused before the alert is looked for (422), else no such alert (404): either way a French page
    assert bad_bytes.status_code in (404, 422) and '<html lang="fr">' in bad_bytes.text
    assert browser.get("/console/alertes/0").status_code == 422
    assert browser.get("/console/alertes/abc").status_code == 422
    assert browser.get("/console/incidents?etat=%00").status_code == 422
    assert browser.get("/console/missions/%00").status_code in (404, 422)
    made = browser.post(
        "/console/appareils", data={"csrf": csrf, "device_id": "<script>", "family": "ptipot"}, headers={"Origin": HOST}
    )
    assert made.status_code == 200 and "Appareil non créé" in made.text and "<script>" not in made.text
    assert count(db, "SELECT count(*) FROM devices WHERE device_id = '<script>'") == 0


def test_an_admin_provisions_a_device_and_sees_its_password_once(browser, issue_token, db, uid) -> None:
    sign_in(browser, issue_token("admin"))
    csrf = csrf_of(browser, "/console/appareils")
    made = browser.post(
        "/console/appareils",
        data={"csrf": csrf, "device_id": f"jardin-{uid}", "family": "ptipot", "lat": "50,53", "lon": "2,64"},
        headers={"Origin": HOST},
    )
    assert made.status_code == 200 and "affichés une seule fois" in made.text
    password = re.search(r"Mot de passe</dt><dd><code>([^<]+)</code>", made.text).group(1)
    assert len(password) >= 20
    row = db.execute("SELECT lat, lon FROM devices WHERE device_id = %s", (f"jardin-{uid}",)).fetchone()
    assert (row["lat"], row["lon"]) == (50.53, 2.64)
    assert password not in browser.get("/console/appareils").text  # shown once


def test_unsigned_connections_cannot_hand_the_api_a_principal(stack) -> None:
    """The in-process principal is a scope key: no header or query can set it (a request with a header of that
    name is a request without a token)."""
    from services.api.main import create_app

    with TestClient(create_app(stack)) as client:
        answer = client.get("/v1/alerts", headers={"tlab.principal": "admin", "tlab-principal": "admin"})
    assert answer.status_code == 401


def test_the_console_session_table_keeps_no_token(db) -> None:
    columns = {r["column_name"] for r in db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'console_sessions'"
    )}  # fmt: skip
    assert "token" not in columns and {"id_sha256", "token_id", "csrf"} <= columns
    with pytest.raises(psycopg.errors.CheckViolation):
        db.execute("INSERT INTO console_sessions (id_sha256, token_id, csrf, expires_at) VALUES ('x', 1, 'y', now())")


def test_the_live_feed_passes_last_event_id_to_the_api_as_a_header(browser, issue_token) -> None:
    """An EventSource reconnects with Last-Event-ID: the relay hands it to the API's stream as the header it
    reads (as a query parameter the API refused it with a 422, and the page's live feed died at its first
    reconnection). A malformed id gets the API's own refusal of that header."""
    sign_in(browser, issue_token("green_spaces"))
    refused = browser.get("/console/alertes/flux", headers={"Last-Event-ID": "abc"})
    assert (
        refused.status_code == 422 and "last-event-id" in refused.text and "unknown query parameter" not in refused.text
    )


def test_notices_come_from_the_server_and_console_errors_are_french_pages(browser, issue_token) -> None:
    """A link cannot put its own words in the console's notice box (phishing: "call this helpdesk"), only name
    one of the server's; a console path's errors are French pages, with the console's headers."""
    sign_in(browser, issue_token("viewer"))
    planted = browser.get("/console/?fait=Appelez+le+0800+000+000&erreur=Votre+jeton+a+expir%C3%A9")
    assert planted.status_code == 200 and "0800" not in planted.text and "expiré" not in planted.text
    said = browser.get("/console/?fait=prise-en-charge")
    assert "Alerte prise en charge." in said.text
    for path, status in (("/console/nexistepas", 404), ("/console/alertes/99999999999999999999", 422),
                         ("/console/incidents?etat=zzz", 422), ("/console/deconnexion", 405)):  # fmt: skip
        page = browser.get(path)
        assert page.status_code == status and page.headers["content-type"].startswith("text/html"), path
        assert '<html lang="fr">' in page.text and "content-security-policy" in page.headers, path
    api_error = browser.get("/console/api/v1/tokens")  # a console page under /console/api: the page policy
    assert api_error.status_code == 403 and "sandbox" not in api_error.headers["content-security-policy"]
    plain = browser.post(
        "/console/deconnexion", content=b"csrf=x", headers={"Origin": HOST, "Content-Type": "text/plain"}
    )
    assert plain.status_code == 403
    cross = browser.post("/console/deconnexion", data={"csrf": csrf_of(browser, "/console/")},
                         headers={"Origin": HOST, "Sec-Fetch-Site": "cross-site"})  # fmt: skip
    assert cross.status_code == 403
    assert browser.get("/v1/devices").headers["x-content-type-options"] == "nosniff"  # the API's answers too


def test_an_imported_inspection_shows_as_the_contractor_s_and_the_pipe_s_inspections_can_be_compared(
    browser, api, issue_token, db, uid
) -> None:
    """A contractor's file imported through the API (docs/exchange.md): its inspection reads as the contractor's
    (no confidence, no frames) and a drone mission of the same pipe offers it for the compared report."""
    from pathlib import Path

    pipe = f"BET-7-{uid}"
    data = (Path(__file__).parents[1] / "fixtures" / "en13508" / "contractor-BET-7.txt").read_bytes()
    imported = api.post("/v1/inspection-imports", content=data.replace(b"BET-7;", pipe.encode() + b";"))
    assert imported.status_code == 201, imported.text
    theirs = imported.json()["missions"][0]["mission_id"]
    db.execute("INSERT INTO devices (device_id, family) VALUES (%s, 'bathy')", (f"cd{uid}",))
    db.execute("INSERT INTO missions (mission_id, device_id, started_at, status, pipe_id) VALUES (%s, %s, now(), "
               "'completed', %s)", (f"cm-{uid}", f"cd{uid}", pipe))  # fmt: skip
    sign_in(browser, issue_token("sanitation"))
    page = browser.get(f"/console/missions/{theirs}")
    assert page.status_code == 200, page.text
    assert "importée d'un fichier NF EN 13508-2" in page.text and "codée par le prestataire" in page.text
    assert f"/console/api/v1/inspection-imports/{imported.json()['id']}/file" in page.text
    drone = browser.get(f"/console/missions/cm-{uid}")
    assert 'name="compare_with"' in drone.text and f'<option value="{theirs}">' in drone.text
    compared = browser.get(f"/console/api/v1/missions/cm-{uid}/report",
                           params={"format": "html", "compare_with": theirs})  # fmt: skip
    assert compared.status_code == 200 and f"Comparaison avec l&#39;inspection {theirs}" in compared.text
    assert "prestataire (fichier importé)" in browser.get("/console/missions").text
    only_theirs = browser.get("/console/missions", params={"source": "import"}).text
    assert theirs in only_theirs and f"cm-{uid}" not in only_theirs
    assert "Fichiers de prestataires importés" in only_theirs
    # the import's warnings, said in French: its nodes are not among the city's manholes (or none is placed)
    assert "absent de la base des regards de la ville" in only_theirs or "aucun regard n" in only_theirs
    assert browser.get("/console/missions", params={"page": "x"}).status_code == 422


def test_sanitation_sends_a_contractor_s_file_from_the_console_and_sees_what_it_became(
    browser, issue_token, db, uid
) -> None:
    """The inspections page's upload form (multipart, with the session's anti-forgery value and the origin
    checked): the file goes to POST /v1/inspection-imports as the person; the page shows its inspections and
    its warnings in French; the same file again is refused, said in French."""
    from pathlib import Path

    data = (Path(__file__).parents[1] / "fixtures" / "en13508" / "contractor-BET-7.txt").read_bytes()
    data = data.replace(b"BET-7;", f"BET-7-up{uid};".encode())
    sign_in(browser, issue_token("sanitation", name="Camille Martin"))
    csrf = csrf_of(browser, "/console/missions")
    assert 'enctype="multipart/form-data"' in browser.get("/console/missions").text
    sent = browser.post("/console/imports", data={"csrf": csrf}, files={"fichier": ("lot 3.txt", data, "text/plain")},
                        headers={"Origin": HOST})  # fmt: skip
    assert sent.status_code == 201, sent.text
    assert "Fichier importé : lot 3.txt" in sent.text and f"BET-7-up{uid}" in sent.text
    assert "absent de la base des regards de la ville" in sent.text or "aucun regard n" in sent.text
    stored = db.execute("SELECT imported_by, filename FROM inspection_imports WHERE filename = 'lot 3.txt' "
                        "ORDER BY id DESC LIMIT 1").fetchone()  # fmt: skip
    assert stored == {"imported_by": "Camille Martin", "filename": "lot 3.txt"}
    again = browser.post("/console/imports", data={"csrf": csrf}, files={"fichier": ("lot 3.txt", data, "text/plain")},
                         headers={"Origin": HOST})  # fmt: skip
    assert again.status_code == 409 and "Fichier déjà importé" in again.text
    (seen,) = re.findall(r'href="(/console/imports/\d+)"', again.text)
    shown = browser.get(seen)  # the import the same bytes became, as the form's answer showed it
    assert shown.status_code == 200 and "Fichier importé : lot 3.txt" in shown.text and f"BET-7-up{uid}" in shown.text
    assert seen in browser.get("/console/missions", params={"source": "import"}).text  # the list links to it
    assert browser.get("/console/imports/999999999").status_code == 404
    broken = data.replace(b"#C=", b"#C=A;A;", 1)  # a field named twice: refused whole, said in French
    refused = browser.post("/console/imports", data={"csrf": csrf}, files={"fichier": ("lot 4.txt", broken)},
                           headers={"Origin": HOST})  # fmt: skip
    assert refused.status_code == 422 and "Fichier refusé" in refused.text
    assert "champ d&#39;observation A en double" in refused.text, refused.text
    forged = browser.post("/console/imports", data={"csrf": "x"}, files={"fichier": ("f.txt", data, "text/plain")},
                          headers={"Origin": HOST})  # fmt: skip
    assert forged.status_code == 403 and "anti-falsification" in forged.text
    elsewhere = browser.post("/console/imports", data={"csrf": csrf}, files={"fichier": ("f.txt", data)},
                             headers={"Origin": "https://evil.example"})  # fmt: skip
    assert elsewhere.status_code == 403
    empty = browser.post("/console/imports", data={"csrf": csrf}, headers={"Origin": HOST})
    assert empty.status_code == 403  # urlencoded, no file
    viewer = TestClient(browser.app, follow_redirects=False)
    sign_in(viewer, issue_token("viewer"))
    assert 'enctype="multipart/form-data"' not in viewer.get("/console/missions").text
