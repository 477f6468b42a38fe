"""The recording CSV: round trips, crash safety of the incremental writer, clear errors for bad files."""

import io

import numpy as np
import pytest

import daq.recording as recording_module
from daq.errors import RecordingFormatError
from daq.recording import Recording, RecordingWriter, read_recording, write_recording


def make_recording(n: int = 50) -> Recording:
    t = np.arange(n) / 1000.0
    return Recording(
        time_s=t,
        torque_nm=np.round(100 * np.sin(t * 7), 4),
        position_deg=np.round(45 + 40 * np.cos(t * 3), 4),
        velocity_dps=np.round(-120 * np.sin(t * 3), 4),
        metadata={"joint": "knee", "side": "left", "sample_rate_hz": "1000", "body_mass_kg": "75.5"},
        extra={"status": np.arange(n) % 3, "sequence": np.arange(n)},
        markers=(0, 20, 50),
        notes=("gap: none",),
        source="made",
    )


def test_round_trip_keeps_values_metadata_extras_markers_and_notes(tmp_path):
    rec = make_recording()
    path = tmp_path / "r.csv"
    write_recording(path, rec)
    back = read_recording(path)
    for col in ("time_s", "torque_nm", "position_deg", "velocity_dps"):
        np.testing.assert_array_equal(getattr(back, col), getattr(rec, col))
    np.testing.assert_array_equal(back.extra["status"], rec.extra["status"])
    assert back.extra["sequence"].dtype == np.int64
    assert back.metadata["joint"] == "knee" and back.meta_float("body_mass_kg") == 75.5
    assert back.markers == (0, 20, 50)
    assert back.notes == ("gap: none",)
    assert back.meta_float("gravity_torque_nm") is None


def test_writer_flush_makes_rows_durable_before_close(tmp_path):
    path = tmp_path / "live.csv"
    w = RecordingWriter(path, {"joint": "knee"}, extra_columns=("status",))
    w.write_rows([0.0, 0.001], [1.5, -2.25], [90.0, 89.9], [0.0, -60.0], status=[0, 1])
    w.flush()
    # A reader (or a crash) now sees both rows although the writer is still open.
    back = read_recording(path)
    np.testing.assert_array_equal(back.torque_nm, [1.5, -2.25])
    w.write_rows([0.002], [3.0], [89.8], [-60.0], status=[0])
    assert len(read_recording(path)) == 2  # not flushed yet
    w.note("gap: 3 samples lost after sequence 2")
    w.close()
    back = read_recording(path)
    assert len(back) == 3 and back.notes == ("gap: 3 samples lost after sequence 2",)


def test_writer_rejects_wrong_extra_columns(tmp_path):
    with RecordingWriter(tmp_path / "x.csv", {}, extra_columns=("status",)) as w:
        with pytest.raises(ValueError, match="extra columns"):
            w.write_rows([0.0], [0.0], [0.0], [0.0])


def test_unwritable_path_is_a_recording_error(tmp_path):
    with pytest.raises(RecordingFormatError, match="cannot write"):
        RecordingWriter(tmp_path / "no" / "such" / "dir.csv", {})


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "no header"),
        ("# joint: knee\n", "no header"),
        ("a,b,c,d\n1,2,3,4\n", "header must start with"),
        ("time_s,torque_nm,position_deg,velocity_dps\n", "no samples"),
        ("time_s,torque_nm,position_deg,velocity_dps\n0,1,2,3\n0.1,x,2,3\n", "bad sample row"),
        ("time_s,torque_nm,position_deg,velocity_dps,status\n0,1,2,3\n", "5"),
        ("# markers: 1,two\ntime_s,torque_nm,position_deg,velocity_dps\n0,1,2,3\n", "markers"),
        ("time_s,torque_nm,position_deg,velocity_dps,sequence\n0,1,2,3,0\n1,1,2,3,nan\n", "sequence of sample 1 .nan."),
        ("time_s,torque_nm,position_deg,velocity_dps,status\n0,1,2,3,0.5\n", "status of sample 0 .0.5. is not a whole"),
        ("time_s,torque_nm,position_deg,velocity_dps\n0,1,2,3\n1,1,2\r3,4\n", "line 3: a carriage return inside"),
    ],
)
def test_bad_files_name_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(RecordingFormatError, match=message) as info:
        read_recording(path)
    assert "bad.csv" in str(info.value)


def test_missing_file_is_a_recording_error(tmp_path):
    with pytest.raises(RecordingFormatError, match="cannot read"):
        read_recording(tmp_path / "absent.csv")


def test_non_numeric_metadata_value_is_reported():
    rec = Recording(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), metadata={"body_mass_kg": "heavy"}, source="f")
    with pytest.raises(RecordingFormatError, match="body_mass_kg"):
        rec.meta_float("body_mass_kg")


def test_columns_of_different_length_are_refused():
    with pytest.raises(ValueError, match="torque_nm"):
        Recording(np.zeros(2), np.zeros(3), np.zeros(2), np.zeros(2))


def _cut_file(tmp_path, cut_bytes: int):
    rec = make_recording(200)
    path = tmp_path / "cut.csv"
    write_recording(path, rec)
    data = path.read_bytes()
    path.write_bytes(data[:-cut_bytes])
    return path, rec


@pytest.mark.parametrize("cut_bytes", [1, 3, 8, 15, 20])
def test_a_last_line_cut_by_a_crash_is_dropped_with_a_note(tmp_path, cut_bytes):
    # A crash mid-write leaves the last row without its newline, maybe with too few fields.
    path, rec = _cut_file(tmp_path, cut_bytes)
    back = read_recording(path)
    assert len(back) == len(rec) - 1
    np.testing.assert_array_equal(back.torque_nm, rec.torque_nm[:-1])
    np.testing.assert_array_equal(back.extra["sequence"], rec.extra["sequence"][:-1])
    assert back.notes[-1] == "last line cut short (the recording was interrupted); dropped"
    assert back.notes[0] == "gap: none"


def test_a_short_last_line_with_its_newline_is_dropped_too(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("time_s,torque_nm,position_deg,velocity_dps,status\n0,1,2,3,0\n0.001,1,2,3,0\n0.002,1\n")
    back = read_recording(path)
    assert len(back) == 2 and back.notes == ("last line cut short (the recording was interrupted); dropped",)


def test_an_intact_file_gets_no_cut_note(tmp_path):
    path = tmp_path / "ok.csv"
    write_recording(path, make_recording(20))
    assert "dropped" not in " ".join(read_recording(path).notes)
    path.write_text("time_s,torque_nm,position_deg,velocity_dps\n0,1,2,3\n0.001,1,2,3")  # hand-written, no final newline
    assert len(read_recording(path)) == 2


def test_a_short_line_in_the_middle_still_names_its_line(tmp_path):
    path = tmp_path / "mid.csv"
    path.write_text("# joint: knee\ntime_s,torque_nm,position_deg,velocity_dps\n0,1,2,3\n0.001,1\n0.002,1,2,3\n")
    with pytest.raises(RecordingFormatError, match="line 4") as info:
        read_recording(path)
    assert "mid.csv" in str(info.value)


def _same(a: Recording, b: Recording) -> None:
    for col in ("time_s", "torque_nm", "position_deg", "velocity_dps"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col))
    assert a.extra.keys() == b.extra.keys()
    for key in a.extra:
        np.testing.assert_array_equal(a.extra[key], b.extra[key])
        assert a.extra[key].dtype == b.extra[key].dtype
    assert (a.metadata, a.markers, a.notes) == (b.metadata, b.markers, b.notes)


def test_bytes_and_streams_read_as_the_path_does(tmp_path):
    path = tmp_path / "r.csv"
    write_recording(path, make_recording())
    data = path.read_bytes()
    from_path = read_recording(path)
    with open(path, "rb") as f:
        from_file = read_recording(f)
    for back in (read_recording(data), read_recording(io.BytesIO(data)), from_file, read_recording(io.StringIO(data.decode()))):
        _same(back, from_path)
    assert read_recording(data).source == "recording" and read_recording(data, source="upload.csv").source == "upload.csv"
    assert from_file.source == str(path)
    with pytest.raises(RecordingFormatError, match="upload.csv: bad sample row at line 11"):
        read_recording(data.replace(b"\n0.002,", b"\n0.002x,"), source="upload.csv")


def test_columns_are_contiguous_and_the_counters_integers(tmp_path):
    path = tmp_path / "r.csv"
    write_recording(path, make_recording())
    back = read_recording(path)
    for column in (back.time_s, back.torque_nm, back.position_deg, back.velocity_dps, *back.extra.values()):
        assert column.flags.c_contiguous
    assert back.extra["status"].dtype == back.extra["sequence"].dtype == np.int64


def test_rows_parsed_in_many_chunks_join_exactly(tmp_path, monkeypatch):
    # Notes between rows, a comment after a row, a blank line and a cut last line, over chunk borders.
    rec = make_recording(300)
    path = tmp_path / "r.csv"
    with RecordingWriter(path, rec.metadata, extra_columns=("status", "sequence")) as w:
        for start in range(0, 300, 70):
            part = slice(start, start + 70)
            w.write_rows(rec.time_s[part], rec.torque_nm[part], rec.position_deg[part], rec.velocity_dps[part],
                         status=rec.extra["status"][part], sequence=rec.extra["sequence"][part])
            w.note(f"gap: after {start}")
    data = path.read_bytes().replace(b"\n0.1,", b"\n\n0.1,").replace(b",150\n", b",150 # a remark\n") + b"0.3,1,2"
    whole = read_recording(data)
    assert len(whole) == 300 and whole.notes[-1] == "last line cut short (the recording was interrupted); dropped"
    assert whole.notes[:5] == tuple(f"gap: after {start}" for start in range(0, 300, 70))
    np.testing.assert_array_equal(whole.torque_nm, rec.torque_nm)
    monkeypatch.setattr(recording_module, "_CHUNK_BYTES", 37)
    _same(read_recording(data), whole)
    bad_line = data.count(b"\n", 0, data.index(b"\n0.25,")) + 2
    with pytest.raises(RecordingFormatError, match=f"bad sample row at line {bad_line}: '0.25x' is not a number"):
        read_recording(data.replace(b"\n0.25,", b"\n0.25x,"))


@pytest.mark.parametrize(
    ("encode", "subject"),
    [
        (lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"), "Zoë"),  # a BOM
        (lambda text: text.encode("latin-1"), "Zoë"),  # not UTF-8: Latin-1
        (lambda text: text.replace("\n", "\r\n").encode("utf-8"), "Zoë"),  # Windows line ends
    ],
)
def test_text_encodings_and_line_ends(tmp_path, encode, subject):
    text = "# isokin recording: 1\n# subject: Zoë\ntime_s,torque_nm,position_deg,velocity_dps\n0,1.5,2,3\n# gap: été\n0.001,-1,2,3\n"
    back = read_recording(encode(text))
    assert back.metadata["subject"] == subject and back.notes == ("gap: été",)
    np.testing.assert_array_equal(back.torque_nm, [1.5, -1])


def test_utf16_is_refused_by_name():
    text = "time_s,torque_nm,position_deg,velocity_dps\n0,1,2,3\n"
    with pytest.raises(RecordingFormatError, match="u.csv: UTF-16"):
        read_recording(text.encode("utf-16"), source="u.csv")
