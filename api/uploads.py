"""Reading a ``multipart/form-data`` upload as it arrives, so a bad file is refused before it is all read.

FastAPI's ``File()`` and ``Form()`` parameters receive the whole body before the route
runs: a 40 MB export with a bad third line costs its whole transfer before it is
refused. :func:`read_upload` feeds the request stream to python-multipart's parser
itself; once the file part holds :data:`HEAD_BYTES` (or ends), it hands that head to the
caller's check (run in a worker thread), which may raise to end the request then: the
answer goes out while the client is still sending, and the rest of the body is never
read. Form fields are small (at most :data:`MAX_FIELD_BYTES` each, :data:`MAX_FIELDS`
of them) and one file part is taken.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.errors import InvalidInputError

__all__ = ["HEAD_BYTES", "MAX_FIELDS", "MAX_FIELD_BYTES", "Upload", "read_upload"]

#: Bytes of the file handed to the head check (then cut after its last complete line).
HEAD_BYTES = 64 * 1024
#: Largest form field value, bytes.
MAX_FIELD_BYTES = 1024
#: Most form fields besides the file.
MAX_FIELDS = 32

HeadCheck = Callable[[bytes, dict[str, str], str], None]


@dataclass
class Upload:
    """What an upload held: its form fields, and its file's name and bytes."""

    fields: dict[str, str] = field(default_factory=dict)
    file_name: str | None = None
    file: bytearray | None = None


@dataclass
class _Part:
    name: str = ""
    file_name: str | None = None
    data: bytearray = field(default_factory=bytearray)


class _Collector:
    """python-multipart callbacks that build an :class:`Upload` (raising :class:`InvalidInputError` on misuse)."""

    def __init__(self, file_field: str) -> None:
        self.file_field = file_field
        self.upload = Upload()
        self.part = _Part()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""

    def on_part_begin(self) -> None:
        self.part, self._disposition = _Part(), b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = _text(options.get(b"name", b""), "a form field's name")
        if b"filename" in options:
            if name != self.file_field or self.upload.file is not None:
                raise InvalidInputError(name[:64] or "file", f"one file is taken, as the '{self.file_field}' form field")
            self.upload.file_name = _text(options[b"filename"], "the file name")
            self.upload.file = bytearray()
        elif name == self.file_field:
            raise InvalidInputError(self.file_field, "must be a file (a part with a filename), not a text field")
        elif len(self.upload.fields) >= MAX_FIELDS or name in self.upload.fields:
            raise InvalidInputError(name[:64], f"at most {MAX_FIELDS} form fields, each once")
        self.part.name = name
        self.part.file_name = self.upload.file_name if b"filename" in options else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part.file_name is not None:
            assert self.upload.file is not None
            self.upload.file += data[start:end]
            return
        self.part.data += data[start:end]
        if len(self.part.data) > MAX_FIELD_BYTES:
            raise InvalidInputError(self.part.name[:64], f"a form field holds at most {MAX_FIELD_BYTES} bytes")

    def on_part_end(self) -> None:
        if self.part.file_name is None:
            self.upload.fields[self.part.name] = _text(bytes(self.part.data), f"form field {self.part.name[:64]!r}")

    def on_end(self) -> None:
        return None


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError("file", f"{what} is not UTF-8 text") from None


async def read_upload(request: Request, *, file_field: str = "file", check_head: HeadCheck | None = None) -> Upload:
    """Read a ``multipart/form-data`` request body, checking the file's head as soon as it arrived.

    Parameters
    ----------
    request
        The request, its body not read yet.
    file_field
        Name of the form field carrying the file.
    check_head
        Called once, in a worker thread, with the file's first :data:`HEAD_BYTES` (or the
        whole file if shorter), the form fields received so far and the file's name; what it
        raises ends the request before the rest of the body is read.

    Raises
    ------
    InvalidInputError
        Not ``multipart/form-data``, malformed, no file, an oversized or repeated field.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidInputError(file_field, "send the file as multipart/form-data (curl -F file=@export.csv)")
    collector = _Collector(file_field)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": collector.on_part_begin,
            "on_part_data": collector.on_part_data,
            "on_part_end": collector.on_part_end,
            "on_header_field": collector.on_header_field,
            "on_header_value": collector.on_header_value,
            "on_header_end": collector.on_header_end,
            "on_headers_finished": collector.on_headers_finished,
            "on_end": collector.on_end,
        },
    )
    upload, checked = collector.upload, check_head is None
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            if not checked and upload.file is not None and (len(upload.file) >= HEAD_BYTES or collector.part.file_name is None):
                checked = True
                assert check_head is not None
                await run_in_threadpool(check_head, bytes(upload.file[:HEAD_BYTES]), dict(upload.fields), upload.file_name or "")
        parser.finalize()
    except FormParserError as err:
        raise InvalidInputError(file_field, f"malformed multipart/form-data ({str(err)[:120]})") from None
    if upload.file is None:
        raise InvalidInputError(file_field, "no file: send it as the 'file' form field", kind="missing")
    return upload
