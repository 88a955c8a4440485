"""QR codes for survey links: PNG for screens and SVG for print."""

import io

import qrcode
import qrcode.image.svg
from markupsafe import Markup
from qrcode.constants import ERROR_CORRECT_Q

# Level Q survives about a quarter of the symbol being smudged or torn: posters get handled.
ERROR_CORRECTION = ERROR_CORRECT_Q


def _code(url: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=10, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str) -> bytes:
    """A PNG image of a QR code that encodes exactly url."""
    buffer = io.BytesIO()
    _code(url).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(url: str) -> str:
    """A standalone SVG image (one path) of a QR code that encodes exactly url."""
    image = _code(url).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return image.to_string(encoding="unicode")


def qr_svg_markup(url: str) -> Markup:
    """The SVG for inlining in a print page."""
    # Safe to mark: qrcode writes the symbol as a single path; the URL never appears as text.
    return Markup(qr_svg(url))  # noqa: S704
