"""Reading uploaded spreadsheets: CSV in whatever encoding a trade-fair scanner or Excel wrote,
and XLSX. Each data row comes with the line a person finds it on in the file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_CELL_CHARS = 10_000  # longer values are reported on their row, never cut silently
# What a person may choose instead of detection (upload page and API).
ENCODING_CHOICES = [
    ("", gettext_lazy("Detect automatically")),
    ("utf-8", "UTF-8"),
    ("gb18030", gettext_lazy("Chinese (GB18030 / GBK)")),
    ("big5", gettext_lazy("Traditional Chinese (Big5)")),
    ("cp1252", gettext_lazy("Western (Windows-1252)")),
    ("shift_jis", gettext_lazy("Japanese (Shift JIS)")),
]
ENCODINGS = ("utf-8", "gb18030", "big5", "utf-16", "shift_jis", "cp1252", "latin-1")

csv.field_size_limit(sys.maxsize)  # the per-cell limit above is checked with a row number


class UnreadableFile(ValueError):
    """The file as a whole cannot be read; the message says what to do."""


@dataclass
class Sheet:
    """What the mapping step needs: the header and a first look at the data."""

    file_format: str
    encoding: str
    delimiter: str
    header: list[str]
    sample: list[list[str]]
    total_rows: int


def detect_format(name: str, content: bytes) -> str:
    if content[:4] == b"PK\x03\x04" or name.lower().endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if name.lower().endswith(".xls"):
        raise UnreadableFile(
            _("Old Excel files (.xls) cannot be read; save the sheet as .xlsx or CSV.")
        )
    return "csv"


def detect_encoding(content: bytes) -> str:
    """UTF-8 (with or without BOM) when it decodes; otherwise the best guess of
    charset-normalizer (GB18030 for most Chinese Excel exports)."""
    if content.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(content[:200_000]).best()
    if best is None:
        raise UnreadableFile(
            _(
                "The file is not text in any encoding we know. Save it from your spreadsheet "
                "program as “CSV UTF-8” or as .xlsx."
            )
        )
    encoding = best.encoding.lower()
    if encoding in ("gbk", "gb2312", "hz"):
        encoding = "gb18030"  # a superset: every GBK file reads the same
    return encoding


def _decode(content: bytes, encoding: str) -> str:
    try:
        return content.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise UnreadableFile(
            _(
                "The file cannot be read as %(encoding)s. Choose another encoding, or save it "
                "as “CSV UTF-8”."
            )
            % {"encoding": encoding}
        ) from exc


def detect_delimiter(text: str) -> str:
    sample = text[:20_000]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def iter_rows(
    content: bytes, file_format: str, encoding: str = "", delimiter: str = ""
) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) for every row after the header, blank rows left out."""
    rows = _iter_xlsx(content) if file_format == "xlsx" else _iter_csv(content, encoding, delimiter)
    first = True
    for line, cells in rows:
        if first:
            first = False
            continue
        if any(c.strip() for c in cells):
            yield line, cells


def read_header(
    content: bytes, file_format: str, encoding: str = "", delimiter: str = ""
) -> list[str]:
    rows = _iter_xlsx(content) if file_format == "xlsx" else _iter_csv(content, encoding, delimiter)
    for _line, cells in rows:
        header = [c.strip() for c in cells]
        while header and not header[-1]:
            header.pop()
        if header:
            return header
        break
    raise UnreadableFile(_("The file is empty: the first row must name the columns."))


def inspect(name: str, content: bytes, encoding: str = "") -> Sheet:
    """Everything the mapping page shows, or UnreadableFile saying what is wrong."""
    if not content:
        raise UnreadableFile(_("The file is empty."))
    if len(content) > MAX_FILE_BYTES:
        raise UnreadableFile(
            _("The file is larger than %(size)d MB; split it into smaller files.")
            % {"size": MAX_FILE_BYTES // (1024 * 1024)}
        )
    file_format = detect_format(name, content)
    delimiter = ""
    if file_format == "csv":
        encoding = encoding or detect_encoding(content)
        delimiter = detect_delimiter(_decode(content, encoding))
    else:
        encoding = ""
    header = read_header(content, file_format, encoding, delimiter)
    sample: list[list[str]] = []
    total = 0
    for _line, cells in iter_rows(content, file_format, encoding, delimiter):
        total += 1
        if len(sample) < 5:
            sample.append(cells)
    if total == 0:
        raise UnreadableFile(_("The file has a header row but no data rows."))
    return Sheet(file_format, encoding, delimiter, header, sample, total)


def _iter_csv(content: bytes, encoding: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    text = _decode(content, encoding or "utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or ",")
    line = 1
    try:
        for cells in reader:
            yield line, cells
            line = reader.line_num + 1  # a quoted cell may span lines: the next row starts here
    except csv.Error as exc:
        raise UnreadableFile(
            _("Line %(line)d cannot be read: %(error)s") % {"line": line, "error": exc}
        ) from exc


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _iter_xlsx(content: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(
            _("The file is not a readable .xlsx workbook; open it in Excel and save it again.")
        ) from exc
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell(v) for v in row]
    finally:
        book.close()
