"""Loaders: PDF (pypdf), unreadable paths, decoding."""

from mastra.rag import Skipped, load_file


def minimal_pdf(text):
    """A one-page PDF with ``text`` in Helvetica, offsets computed (no PDF library)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_pdf_text_and_page_count(tmp_path):
    path = tmp_path / "owls.pdf"
    path.write_bytes(minimal_pdf("Owls hunt at night"))
    loaded = load_file(path)
    assert loaded.document.text == "Owls hunt at night"
    assert loaded.document.metadata == {"source": str(path), "format": "pdf", "pages": 1}


def test_damaged_pdf_and_unreadable_paths_are_skipped(tmp_path):
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a pdf")
    skipped = load_file(tmp_path / "broken.pdf")
    assert isinstance(skipped, Skipped) and skipped.reason.startswith("unreadable PDF")
    folder = load_file(tmp_path)  # a folder cannot be read as a file
    assert isinstance(folder, Skipped) and folder.reason.startswith("unreadable")


def test_undecodable_bytes_are_replaced_and_counted(tmp_path):
    path = tmp_path / "mixed.txt"
    path.write_bytes(b"\xef\xbb\xbfok \xff\xfe caf\xc3\xa9 \x80")
    loaded = load_file(path)
    assert loaded.document.text == "ok \ufffd\ufffd caf\u00e9 \ufffd"
    assert loaded.replaced == 3
