import subprocess

import pytest


def decode(png_path) -> str:
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(png_path)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_png_qr_decodes_to_the_public_link_and_it_serves_the_campaign(
    client, db, campaign, tmp_path, app
):
    response = client.get("/s/hall/qr.png")
    assert response.status_code == 200 and response.content_type == "image/png"
    path = tmp_path / "hall.png"
    path.write_bytes(response.get_data())
    url = decode(path)
    assert url == f"{app.config['PUBLIC_BASE_URL']}/s/hall"
    page = client.get(url.replace(app.config["PUBLIC_BASE_URL"], ""))
    assert page.status_code == 200 and "全部题型" in page.get_data(as_text=True)


def test_svg_qr_rasterized_decodes_to_the_same_link(client, db, campaign, tmp_path, app):
    response = client.get("/s/hall/qr.svg")
    assert response.content_type.startswith("image/svg+xml")
    svg, png = tmp_path / "hall.svg", tmp_path / "hall-from-svg.png"
    svg.write_bytes(response.get_data())
    subprocess.run(
        ["rsvg-convert", "-w", "400", "-b", "white", "-o", str(png), str(svg)], check=True
    )
    assert decode(png) == f"{app.config['PUBLIC_BASE_URL']}/s/hall"


def test_qr_for_an_unknown_code_is_404(client, db, campaign):
    assert client.get("/s/nope/qr.png").status_code == 404


@pytest.mark.parametrize("page", ["posters", "slips"])
def test_print_sheets_carry_decodable_codes(client, db, campaign, page, tmp_path):
    import re

    from app.links.service import create_rater_codes
    from tests.factories import login, make_user

    create_rater_codes(campaign, campaign.targets[0].unit, "peer", 3)
    make_user(campaign_org(db, campaign))
    db.session.commit()
    login(client)
    html = client.get(f"/admin/campaigns/{campaign.id}/{page}").get_data(as_text=True)
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == (1 if page == "posters" else 3)
    svg_path, png_path = tmp_path / "first.svg", tmp_path / "first.png"
    svg_path.write_text(svgs[0])
    subprocess.run(
        ["rsvg-convert", "-w", "400", "-b", "white", "-o", str(png_path), str(svg_path)], check=True
    )
    assert decode(png_path).split("/s/")[1] in html


def campaign_org(db, campaign):
    from app.accounts.models import Organization

    return db.session.get(Organization, campaign.org_id)
