"""Writes the documents of `eval/formats.yaml`: a scanned report, a mixed PDF, a PDF
with a table, a spreadsheet, a CSV, a slide deck and a photographed notice.

They are generated, not committed, so anyone can rebuild them (the tests do too). The
scans are text rendered to an image (slightly rotated and noisy, like a scanner's) and
wrapped in a PDF with no text layer, so their OCR can be scored against the text that
was rendered: `--accuracy` prints the character accuracy per scanned page.

    python -m rag.evaluation.format_corpus [--out .rag/formats-corpus] [--accuracy]
"""

import argparse
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SCAN_PAGES = [
    "Harbour Board - Annual Inspection Report\n\n"
    "The inspection of the north breakwater took place on 14 May. The engineers found "
    "two cracked concrete blocks near the signal mast and recommended that they be "
    "replaced before the autumn storms.\n\n"
    "The fuel jetty passed its inspection without remarks. Its fire hoses were tested "
    "and all six worked at full pressure.",
    "Recommendations\n\n"
    "The board should repaint the lighthouse in September, when the tourist season "
    "ends. The estimated cost of the repainting is 38,000 euros.\n\n"
    "Dredging of the inner basin is postponed to next year because the contractor, "
    "Kestrel Dredging, has no free vessel before March.",
]
MIXED_TEXT_PAGE = (
    "Ferry operations summary. The morning ferry to Skerry Island carried 41,200 "
    "passengers this year, four per cent more than last year."
)
MIXED_SCAN_PAGE = (
    "Winter timetable\n\n"
    "From 1 November the last ferry leaves the harbour at 18:30 instead of 21:00. "
    "The change saves the operator about 900 litres of fuel a week."
)
NOTICE = (
    "NOTICE TO MARINERS\n\n"
    "The west channel buoy number 7 has been moved 40 metres to the south. "
    "Vessels with a draught over 4 metres must use the east channel until further notice."
)
REVENUE = [
    ("Year", "Revenue (million euros)", "Operating profit (million euros)", "Staff"),
    ("2021", "8.4", "0.9", "112"),
    ("2022", "9.7", "1.3", "118"),
    ("2023", "11.2", "1.8", "121"),
    ("2024", "12.6", "2.1", "127"),
]
SALES = {
    "Q3": [("Region", "Units sold", "Returns"), ("North", 1240, 31), ("South", 980, 12)],
    "Q4": [("Region", "Units sold", "Returns"), ("North", 1515, 44), ("South", 1102, 19)],
}
SLIDES = [
    ("Harbour app roadmap", ["Three releases planned for next year."], None),
    (
        "Release 2: berth booking",
        ["Skippers book a berth from their phone.", "Payment by card or invoice."],
        "Release 2 ships on 3 June if the payment provider signs in April.",
    ),
    (
        "Costs",
        ["Development: 240,000 euros", "Hosting: 18,000 euros a year"],
        None,
    ),
]
FLEET_HEADER = ("Vessel", "Type", "Length (m)", "Home port", "Built")
_TYPES = ("trawler", "tug", "ferry", "pilot boat", "yacht")
_PORTS = ("Nordvik", "Saltby", "Eastholm", "Kirkhamn")
_NAMES = (
    *("Albatross", "Brisk", "Cormorant", "Dauntless", "Eider", "Fulmar", "Gannet"),
    *("Heron", "Ibis", "Jaeger", "Kittiwake", "Lapwing", "Merlin", "Nightjar", "Osprey"),
    *("Petrel", "Quail", "Razorbill", "Skua", "Tern", "Auk", "Bittern", "Curlew"),
    *("Dunlin", "Egret", "Falcon", "Grebe", "Harrier", "Kestrel", "Loon", "Puffin"),
    *("Rook", "Shag", "Teal", "Wigeon", "Plover", "Swift", "Aurora", "Sandpiper"),
)


def fleet_rows() -> list[tuple[str, ...]]:
    """Forty vessels: more rows than one chunk holds, so a row far down the file is
    only understood through the header its block repeats."""
    rng = random.Random(7)
    rows = [FLEET_HEADER]
    for number, name in enumerate(_NAMES):
        kind = _TYPES[number % len(_TYPES)]
        rows.append((name, kind, f"{rng.randint(90, 400) / 10:.1f}", rng.choice(_PORTS),
                     str(rng.randint(1965, 2022))))  # fmt: skip
    return rows


NOISE = {"blur": 1.0, "noise": 0.25, "scale": 0.6}  # well short of where Tesseract fails


def render_scan(text: str, seed: int = 0, dpi: int = 200) -> Image.Image:
    """An A4 page of text as a scanner gives it: grey paper, a little noise and tilt."""
    width, height = int(8.27 * dpi), int(11.69 * dpi)
    page = Image.new("L", (width, height), 250)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=dpi // 7)
    y, margin = dpi, dpi
    for paragraph in text.split("\n\n"):
        for line in _wrapped(paragraph, draw, font, width - 2 * margin):
            draw.text((margin, y), line, fill=20, font=font)
            y += int(font.size * 1.5)
        y += font.size
    rng = random.Random(seed)
    page = page.rotate(rng.uniform(-1.0, 1.0), fillcolor=250, resample=Image.BICUBIC)
    page = page.filter(ImageFilter.GaussianBlur(NOISE["blur"]))
    grain = np.random.default_rng(seed).normal(128, 60, (height, width)).clip(0, 255)
    page = Image.blend(page, Image.fromarray(grain.astype(np.uint8), "L"), NOISE["noise"])
    scale = NOISE["scale"]  # a coarser scanner, then back to the page's size
    page = page.resize((int(width * scale), int(height * scale)), Image.BILINEAR)
    return page.resize((width, height), Image.BILINEAR)


def _wrapped(paragraph: str, draw: ImageDraw.ImageDraw, font: ImageFont.FreeTypeFont,
             width: int) -> list[str]:  # fmt: skip
    lines, line = [], ""
    for word in paragraph.split():
        candidate = f"{line} {word}".strip()
        if line and draw.textlength(candidate, font=font) > width:
            lines.append(line)
            candidate = word
        line = candidate
    return [*lines, line] if line else lines


def write_corpus(folder: Path) -> dict[str, Path]:
    """Every document of the set, written into `folder`; returns them by kind."""
    import openpyxl
    import pptx
    from fpdf import FPDF

    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    scans = [render_scan(text, seed) for seed, text in enumerate(SCAN_PAGES)]
    written["scan"] = folder / "inspection-report-scan.pdf"
    scans[0].save(written["scan"], save_all=True, append_images=scans[1:], resolution=200)

    mixed = FPDF()
    mixed.set_font("helvetica", size=12)
    mixed.set_title("Ferry operations")
    mixed.add_page()
    mixed.multi_cell(0, 8, MIXED_TEXT_PAGE)
    mixed.add_page()
    mixed.image(render_scan(MIXED_SCAN_PAGE, seed=5), x=0, y=0, w=210, h=297)
    written["mixed"] = folder / "ferry-operations.pdf"
    mixed.output(str(written["mixed"]))

    table = FPDF()
    table.set_font("helvetica", size=11)
    table.set_title("Harbour company results")
    table.add_page()
    table.multi_cell(0, 8, "Harbour company results. Figures for the last four years.")
    with table.table() as grid:
        for values in REVENUE:
            row = grid.row()
            for value in values:
                row.cell(value)
    written["table"] = folder / "company-results.pdf"
    table.output(str(written["table"]))

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in SALES.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.properties.title = "Chandlery sales"
    written["sheet"] = folder / "chandlery-sales.xlsx"
    book.save(written["sheet"])

    written["csv"] = folder / "fleet-register.csv"
    written["csv"].write_text("\n".join(",".join(row) for row in fleet_rows()) + "\n")

    deck = pptx.Presentation()
    for title, bullets, notes in SLIDES:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for bullet in bullets[1:]:
            body.add_paragraph().text = bullet
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
    written["deck"] = folder / "app-roadmap.pptx"
    deck.save(str(written["deck"]))

    written["image"] = folder / "notice-to-mariners.png"
    render_scan(NOTICE, seed=9).save(written["image"])
    return written


def rendered_texts() -> dict[str, list[str]]:
    """What was drawn on each scanned page, by document kind."""
    return {"scan": SCAN_PAGES, "mixed": [MIXED_SCAN_PAGE], "image": [NOTICE]}


def character_accuracy(read: str, truth: str) -> float:
    """1 - the character error rate, whitespace runs counted as one space."""
    from rapidfuzz.distance import Levenshtein

    read, truth = " ".join(read.split()), " ".join(truth.split())
    return max(0.0, 1 - Levenshtein.distance(read, truth) / max(1, len(truth)))


def ocr_accuracy(written: dict[str, Path]) -> dict[str, float]:
    """Character accuracy of each scanned page's OCR, "<kind> p. N": the text OCR read
    (what the index holds) against what was rendered."""
    from rag.formats import extract

    scores = {}
    for kind, truths in rendered_texts().items():
        extracted = extract(written[kind])
        pages = [extracted.text[begin:end] for _, begin, end in extracted.part_spans()]
        pages = pages[-len(truths) :]  # the mixed PDF's scan is its last page
        for number, (read, truth) in enumerate(zip(pages, truths, strict=True), start=1):
            scores[f"{written[kind].name} p. {number}"] = round(character_accuracy(read, truth), 4)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(".rag/formats-corpus"))
    parser.add_argument(
        "--accuracy", action="store_true", help="OCR the scans and print character accuracy"
    )
    args = parser.parse_args()
    written = write_corpus(args.out)
    print(f"Wrote {len(written)} documents to {args.out}")
    if args.accuracy:
        scores = ocr_accuracy(written)
        for page, score in scores.items():
            print(f"OCR character accuracy {score:.2%}  {page}")
        print(f"OCR character accuracy {sum(scores.values()) / len(scores):.2%}  (mean)")


if __name__ == "__main__":
    main()
