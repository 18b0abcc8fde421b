"""The console in Chromium, as each role uses it (issue 22, item 5): sign in with a token, see its sections and
nothing else (the API's policy decides), do one task of its own with the keyboard or the mouse and see it
persisted; every page checked with axe-core (WCAG 2.1 A and AA, serious and critical) and photographed
(<artifacts>/screenshots/<role>-<page>-<screen>.png) for people to look at."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from services.api.policy import match_request
from services.auth.roles import Role
from services.console.web import SECTIONS
from tests.browser.conftest import assert_accessible, no_external_requests, screenshot
from tests.integration.scenes import frost_alert, inspected_mission, suspected_incident

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def sign_in(page: Page, token: str) -> None:
    page.goto("/console/")  # a page: sent to the sign-in, then back
    expect(page).to_have_url(re.compile(r"/console/connexion\?suite="))
    page.get_by_label("Jeton d'accès").fill(token)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour")


def allowed(role: str, method: str, path: str) -> bool:
    return bool(match_request(method, path)[1].roles & {Role(role)})


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_sees_its_sections_only_each_page_accessible(page: Page, issue_token, role: str) -> None:
    sign_in(page, issue_token(role, name=f"agent-{role}"))
    assert_accessible(page)
    screenshot(page, f"{role}-accueil")
    nav = page.get_by_role("navigation", name="Sections")
    for slug, name, method, path in SECTIONS:
        link = nav.get_by_role("link", name=name, exact=True)
        if allowed(role, method, path):
            link.click()
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            expect(link).to_have_attribute("aria-current", "page")
            assert_accessible(page)
            screenshot(page, f"{role}-{slug}")
        else:
            expect(link).to_have_count(0)
            page.goto(f"/console/{slug}")  # typed by hand: the API's refusal, in French
            expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")
    no_external_requests(page)


def test_sign_in_with_the_keyboard_alone_and_a_refused_token_said_in_french(page: Page, issue_token) -> None:
    page.goto("/console/connexion")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    page.keyboard.press("Enter")  # the skip link: past the header, to the page's own content
    page.keyboard.press("Tab")
    expect(page.get_by_label("Jeton d'accès")).to_be_focused()
    page.keyboard.type("tlab_1_not-a-token")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("n'est pas valide")
    assert_accessible(page)
    screenshot(page, "anonyme-connexion_refusee")
    page.get_by_label("Jeton d'accès").fill(issue_token("viewer"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bonjour")


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_green_spaces_sees_a_frost_alert_arrive_live_and_takes_it_on(
    page: Page, issue_token, stack, db, ingest, uid, screen: str
) -> None:
    sign_in(page, issue_token("green_spaces", name=f"jardinier-{uid}"))
    page.goto("/console/alertes")
    expect(page.locator("#direct-etat")).to_have_text("Suivi en direct : actif.")
    alert = frost_alert(stack, db, f"bf{uid}")  # made after the page opened: it comes through the live stream
    arrived = page.locator("#direct-nouvelles").get_by_role("link", name=re.compile(f"bf{uid}"))
    expect(arrived).to_contain_text("nouvelle alerte")
    screenshot(page, "green_spaces-alertes_en_direct")
    arrived.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Alerte n° {alert}")
    assert_accessible(page)
    page.get_by_label("Note (facultative)").fill("bâches posées")
    page.get_by_role("button", name="Prendre en charge").press("Enter")  # the keyboard, as a person without a mouse
    expect(page.get_by_role("status")).to_have_text("Alerte prise en charge.")
    row = db.execute("SELECT state, acknowledged_by FROM alerts WHERE id = %s", (alert,)).fetchone()
    assert row == {"state": "acknowledged", "acknowledged_by": f"jardinier-{uid}"}
    expect(page.locator(".timeline")).to_contain_text("bâches posées")
    screenshot(page, "green_spaces-alerte_prise_en_charge")
    no_external_requests(page)


def test_sanitation_reviews_an_observation_on_the_strip_and_opens_the_report(
    page: Page, issue_token, stack, db, uid, tmp_path: Path
) -> None:
    mission = inspected_mission(stack, db, uid)
    sign_in(page, issue_token("sanitation", name=f"egoutier-{uid}"))
    page.goto("/console/missions")
    page.get_by_role("link", name=mission).click()
    strip = page.get_by_role("group", name=re.compile("Bande de la conduite"))
    expect(strip).to_be_visible()
    assert_accessible(page)
    screenshot(page, "sanitation-mission")
    first = page.locator("article.observation").first
    observation = int(first.get_attribute("id").removeprefix("obs-"))
    expect(first.get_by_role("img")).to_have_js_property("complete", True)
    assert first.get_by_role("img").evaluate("img => img.naturalWidth") > 0  # the frame, through the console
    first.get_by_label("Confirmer").check()
    first.get_by_label("Note").fill("vu sur place")
    first.get_by_role("button", name="Enregistrer la revue").click()
    expect(page.get_by_role("status")).to_have_text("Observation confirmée.")
    row = db.execute("SELECT state, reviewed_by, review_note FROM observations WHERE id = %s", (observation,))
    assert row.fetchone() == {"state": "confirmed", "reviewed_by": f"egoutier-{uid}", "review_note": "vu sur place"}
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename.endswith(".csv")
    report = page.request.get(f"/console/api/v1/missions/{mission}/report?format=pdf")
    assert report.status == 200 and report.body().startswith(b"%PDF")
    # the contractor's survey of the same pipe, sent from the inspections page, then compared with the drone's
    pipe = db.execute("SELECT pipe_id FROM missions WHERE mission_id = %s", (mission,)).fetchone()["pipe_id"]
    contractor = tmp_path / "ITV lot 3.txt"
    fixture = Path(__file__).parents[1] / "fixtures" / "en13508" / "contractor-BET-7.txt"
    contractor.write_bytes(fixture.read_bytes().replace(b"BET-7;", pipe.encode() + b";"))
    page.goto("/console/missions")
    page.get_by_label(re.compile("Fichier d'échange NF EN 13508-2")).set_input_files(contractor)
    page.get_by_role("button", name="Importer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Fichier importé : ITV lot 3.txt")
    assert_accessible(page)
    screenshot(page, "sanitation-import")
    compared = page.get_by_role("link", name=mission)
    expect(compared).to_be_visible()
    answer = page.request.get(compared.get_attribute("href"))
    assert answer.status == 200 and "Comparaison avec l&#39;inspection itv-" in answer.text()
    no_external_requests(page)


def test_cleanliness_confirms_an_incident_and_police_puts_it_under_legal_hold(
    new_page: Callable[..., Page], console_server: str, issue_token, stack, db, ingest, uid
) -> None:
    incident = suspected_incident(stack, db, uid)
    agent = new_page("phone", base_url=console_server)  # a crew chief in the street
    sign_in(agent, issue_token("cleanliness", name=f"propre-{uid}"))
    agent.goto("/console/incidents")
    agent.get_by_role("link", name=f"n° {incident}", exact=True).click()
    expect(agent.get_by_role("heading", level=1)).to_have_text(f"Dépôt n° {incident} : canapé")
    assert_accessible(agent)
    screenshot(agent, "cleanliness-incident")
    expect(agent.get_by_role("link", name=re.compile("original"))).to_have_count(0)  # originals: police only
    agent.get_by_role("button", name="Confirmer le dépôt").click()
    expect(agent.get_by_role("status")).to_have_text("Dépôt confirmé.")
    assert db.execute("SELECT state FROM incidents WHERE id = %s", (incident,)).fetchone()["state"] == "confirmed"
    expect(agent.get_by_role("heading", name="Scellé judiciaire")).to_have_count(0)

    police = new_page("desktop", base_url=console_server)
    sign_in(police, issue_token("police", name=f"police-{uid}"))
    police.goto(f"/console/incidents/{incident}")
    expect(police.get_by_role("button", name="Confirmer le dépôt")).to_have_count(0)  # agents decide, not police
    police.get_by_label("Fondement (procédure, référence ; obligatoire)").fill("PV 2026-118")
    police.get_by_role("button", name="Poser un scellé").click()
    expect(police.get_by_role("status")).to_contain_text("Scellé posé")
    hold = db.execute("SELECT held_by, hold_note FROM incidents WHERE id = %s", (incident,)).fetchone()
    assert hold == {"held_by": f"police-{uid}", "hold_note": "PV 2026-118"}
    assert_accessible(police)
    screenshot(police, "police-incident_sous_scelle")
    no_external_requests(agent)
    no_external_requests(police)


def test_an_admin_provisions_a_device_and_an_operator_reads_an_experiments_charts(
    new_page: Callable[..., Page], console_server: str, issue_token, api, uid
) -> None:
    admin = new_page("desktop", base_url=console_server)
    sign_in(admin, issue_token("admin", name=f"admin-{uid}"))
    admin.goto("/console/appareils")
    admin.get_by_label("Identifiant").fill(f"jardin-{uid}")
    admin.get_by_label("Famille").select_option("ptipot")
    admin.get_by_label("Latitude (facultative)").fill("50,5303")
    admin.get_by_label("Longitude (facultative)").fill("2,6408")
    admin.get_by_role("button", name="Créer et obtenir ses identifiants").click()
    expect(admin.get_by_role("status")).to_contain_text("affichés une seule fois")
    expect(admin.get_by_role("cell", name=f"jardin-{uid}", exact=True)).to_be_visible()
    assert_accessible(admin)
    screenshot(admin, "admin-appareil_cree")

    created = api.post(
        "/v1/experiments",
        json={
            "name": f"Jardins hiver {uid}", "capability": "readings", "family": "ptipot",
            "starts_at": "2026-11-01T00:00:00Z", "ends_at": "2026-12-31T00:00:00Z",
            "baseline": {"starts_at": "2026-09-01T00:00:00Z", "ends_at": "2026-10-31T00:00:00Z"},
        },
    )  # fmt: skip
    assert created.status_code == 201, created.text
    operator = new_page("desktop", base_url=console_server)
    sign_in(operator, issue_token("operator"))
    operator.goto("/console/experiences")
    operator.get_by_role("link", name=f"Jardins hiver {uid}").click()
    charts = operator.get_by_role("img", name=re.compile("Indicateurs"))
    expect(charts.first).to_be_visible()
    assert charts.count() >= 1
    assert_accessible(operator)
    screenshot(operator, "operator-experience")
    with operator.expect_download() as download:
        operator.get_by_role("link", name=re.compile("Télécharger les indicateurs")).click()
    assert download.value.path().read_bytes().startswith(b"\xef\xbb\xbf")  # French Excel's CSV (BOM)
    no_external_requests(admin)
    no_external_requests(operator)
