"""Importers on small fixtures of our own: Biodex and IsoMed round trips, detection, errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daq.errors import RecordingFormatError
from daq.importers import FORMATS, detect_format, load_recording
from daq.recording import Recording, write_recording

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BIODEX = FIXTURES / "biodex_knee_right.txt"
ISOMED = FIXTURES / "isomed_knee_left.txt"
FT_LB = 1.35581795

HUMAC_MINI = (
    '"Status","Time(Seconds)","Position(Degrees)","Torque(Foot-Pounds)","Speed(d/s)","End Pnt 0"\n'
    '"1",0,90,10,0,""\n'
    '"1",.01,89.4,20,-60,"0"\n'
    '"1",.02,88.8,30,-60,"0"\n'
    '"5",.03,88.8,0,0,"1"\n'
    '"1",.04,89.4,5,60,"1"\n'
    '"15",.05,90,6,60,"1"\n'
    '"0",.06,0,0,0,"1"\n'
)
CTM_MINI = (
    "[Measurement]\r\nsamplingrate\t256\tHz\r\nsamples\t3\r\n[session]\r\nsubject weight\t72,5\r\n"
    "[Configuration]\r\npattern\t210\tknee ext/flex\r\nside\t1\tleft\r\nprogram\t63\tcon/ecc\r\nspeed\t90\t60\r\n"
    "[markers by index]\r\nmove 1\t1\t\r\nmove 2\t2\t\r\n[data]\r\n"
    "1.0\t2.0\t-50.0\r\n1.5\t2.5\t-49.0\r\n2.0\t3.0\t-48.0\r\n0.000\t0.000\t0.000\r\n"
)


def raw_columns(path: Path, first_row: int, separator: str | None) -> np.ndarray:
    """The fixture's numbers as written, read without the importer."""
    lines = path.read_text().splitlines()[first_row:]
    return np.array([[float(v) for v in line.split(separator)] for line in lines if line.strip()])


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="latin-1", newline="")
    return path


# --- Biodex and IsoMed round trips ----------------------------------------------------------------


def test_biodex_round_trip_of_units_and_signs() -> None:
    raw = raw_columns(BIODEX, 14, "\t")  # Set Rep mSec TORQUE POSITION POS_ANAT VELOCITY
    rec = load_recording(BIODEX)
    np.testing.assert_allclose(rec.time_s, raw[:, 2] / 1000)
    # Biodex signs extension (its first-named direction) positive; ours is flexion positive
    np.testing.assert_allclose(rec.torque_nm, -raw[:, 3] * FT_LB)
    np.testing.assert_allclose(rec.velocity_dps, -raw[:, 6])
    np.testing.assert_allclose(rec.position_deg, raw[:, 5])  # anatomical: 0 = full extension
    flexing = rec.velocity_dps > 0
    assert flexing.any() and np.all(rec.torque_nm[flexing] > 0)
    assert rec.markers == (2, 13, 28)  # Rep 1 from row 2, Rep 2 from row 13, Rep 0 again at row 28
    np.testing.assert_array_equal(rec.extra["rep"], raw[:, 1].astype(np.int64))


def test_biodex_metadata() -> None:
    meta = load_recording(BIODEX).metadata
    assert meta["source_format"] == "biodex-txt"
    assert (meta["joint"], meta["pattern"]) == ("knee", "flexion/extension")
    assert (meta["side"], meta["mode"]) == ("right", "con/con")
    assert meta["velocity_dps"] == "60/90"  # header 90/60 in extension/flexion order -> flexion/extension
    assert (meta["body_mass_kg"], meta["subject"], meta["sample_rate_hz"]) == ("74.84", "B01", "10")  # 165 lb
    assert meta["biodex_rom_limits"] == "5/95 deg"


def test_isomed_round_trip_of_units_and_signs() -> None:
    raw = raw_columns(ISOMED, 8, ";")  # ms, 0.1 deg, 0.1 N.m, 0.1 deg/s, -, phase
    rec = load_recording(ISOMED)
    np.testing.assert_allclose(rec.time_s, raw[:, 0] / 1000)
    np.testing.assert_allclose(rec.torque_nm, -raw[:, 2] / 10)
    np.testing.assert_allclose(rec.velocity_dps, -raw[:, 3] / 10)
    np.testing.assert_allclose(rec.position_deg, -raw[:, 1] / 10)  # -600 (extension +) -> 60 deg of flexion
    flexing = rec.velocity_dps > 0
    assert flexing.any() and np.all(rec.torque_nm[flexing] > 0)
    assert rec.markers == (2, 22, 42)  # phase 1 from row 2, phase 2 from row 22, 0 again at row 42
    meta = rec.metadata
    assert (meta["joint"], meta["side"], meta["velocity_dps"], meta["body_mass_kg"]) == ("knee", "left", "300", "80.5")
    assert (meta["sample_rate_hz"], meta["subject"], meta["mode"]) == ("200", "M01", "con/con")


def test_isomed_without_a_header_is_read_on_request_with_the_signs_as_exported(tmp_path: Path) -> None:
    path = write(tmp_path, "bare.txt", "\n".join(ISOMED.read_text().splitlines()[8:]))
    with pytest.raises(RecordingFormatError, match="unknown format"):
        detect_format(path)  # nothing says IsoMed
    raw = raw_columns(ISOMED, 8, ";")
    rec = load_recording(path, format="isomed-txt")
    np.testing.assert_allclose(rec.torque_nm, raw[:, 2] / 10)
    np.testing.assert_allclose(rec.velocity_dps, raw[:, 3] / 10)
    np.testing.assert_allclose(rec.position_deg, raw[:, 1] / 10)
    assert "joint" not in rec.metadata and "isomed_signs" in rec.metadata


def test_contrex_header_values_with_decimal_commas_and_the_closing_row(tmp_path: Path) -> None:
    rec = load_recording(write(tmp_path, "mini.ctm", CTM_MINI))
    assert len(rec) == 3 and rec.markers == (1, 2)
    assert rec.metadata["body_mass_kg"] == "72.5"
    assert (rec.metadata["side"], rec.metadata["mode"]) == ("left", "con/ecc")
    assert rec.metadata["velocity_dps"] == "60/90"  # speed mov1 (extension) 90, mov2 (flexion) 60
    np.testing.assert_allclose(rec.position_deg, [50, 49, 48])


def test_humac_signs_from_end_pnt_half_repetitions(tmp_path: Path) -> None:
    rec = load_recording(write(tmp_path, "S09 09_00_00 AM 60 1 Left 3.csv", HUMAC_MINI))
    assert len(rec) == 6 and rec.markers == (1, 3, 6)  # the closing status-0 row is dropped
    # before and in the first (extension) half-repetition torque is negative, then positive
    np.testing.assert_allclose(rec.torque_nm, np.array([-10, -20, -30, 0, 5, 6]) * FT_LB)
    assert (rec.metadata["side"], rec.metadata["humac_set"], rec.metadata["velocity_dps"]) == ("left", "3", "60")


# --- detection ------------------------------------------------------------------------------------


def test_isokin_csv_is_detected_and_delegated(tmp_path: Path) -> None:
    original = Recording(
        np.arange(4) / 100, np.array([1.0, -2, 3, -4]), np.arange(4.0), np.full(4, 100.0), metadata={"joint": "knee"}
    )
    path = tmp_path / "rec.csv"
    write_recording(path, original)
    assert detect_format(path) == "isokin-csv"
    rec = load_recording(path)
    np.testing.assert_array_equal(rec.torque_nm, original.torque_nm)
    assert (rec.metadata["source_format"], rec.metadata["joint"]) == ("isokin", "knee")


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
        lambda text: text.encode("latin-1"),
        lambda text: text.replace("\n", "\r\n").encode("utf-8"),
    ],
    ids=["utf-8 BOM", "latin-1", "CRLF"],
)
def test_isokin_csv_bytes_go_to_the_reader_in_any_encoding(tmp_path: Path, encode: Callable[[str], bytes]) -> None:
    text = "# isokin recording: 1\n# joint: knee\n# subject: Zoë\ntime_s,torque_nm,position_deg,velocity_dps\n0,1.5,2,3\n# gap: été\n0.001,-1,2,3\n"
    path = write(tmp_path, "rec.csv", encode(text))
    assert detect_format(path) == "isokin-csv"
    rec = load_recording(path)
    assert (rec.metadata["source_format"], rec.metadata["subject"], rec.notes) == ("isokin", "Zoë", ("gap: été",))
    np.testing.assert_array_equal(rec.torque_nm, [1.5, -1])


@pytest.mark.parametrize(("content", "expected"), [(HUMAC_MINI, "humac-csv"), (CTM_MINI, "contrex-ctm")])
def test_detection_reads_the_content_not_the_extension(tmp_path: Path, content: str, expected: str) -> None:
    assert detect_format(write(tmp_path, "export.txt", content)) == expected
    assert detect_format(write(tmp_path, "biodex.csv", BIODEX.read_text())) == "biodex-txt"
    assert detect_format(write(tmp_path, "isomed.ctm", ISOMED.read_text())) == "isomed-txt"


def test_the_format_table_names_every_format() -> None:
    assert list(FORMATS) == ["isokin-csv", "humac-csv", "contrex-ctm", "biodex-txt", "isomed-txt"]
    assert all(f.name == key for key, f in FORMATS.items())


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("  \n\n", "empty file"),
        ("hello world\nthis is not a recording\n", "unknown format"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    ],
)
def test_garbage_empty_and_binary_files_are_rejected(tmp_path: Path, content: str | bytes, message: str) -> None:
    path = write(tmp_path, "bad.csv", content)
    with pytest.raises(RecordingFormatError, match=f"bad.csv: {message}"):
        load_recording(path)
    with pytest.raises(RecordingFormatError, match=message):
        detect_format(path)


def test_unreadable_paths_are_format_errors(tmp_path: Path) -> None:
    with pytest.raises(RecordingFormatError, match="missing.csv: cannot read"):
        load_recording(tmp_path / "missing.csv")
    with pytest.raises(RecordingFormatError, match="cannot read"):
        load_recording(tmp_path)


def test_an_unknown_format_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown format 'cybex'"):
        load_recording(BIODEX, format="cybex")


@pytest.mark.parametrize(
    ("path", "fmt", "message"),
    [
        (BIODEX, "isomed-txt", "not an IsoMed"),
        (ISOMED, "biodex-txt", "not a Biodex"),
        (BIODEX, "humac-csv", "not a HUMAC"),
        (ISOMED, "contrex-ctm", "not a Con-Trex"),
    ],
)
def test_a_fixture_read_as_the_wrong_format_is_rejected(path: Path, fmt: str, message: str) -> None:
    with pytest.raises(RecordingFormatError, match=message):
        load_recording(path, format=fmt)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("h.csv", HUMAC_MINI.replace(',"Speed(d/s)"', ""), r"missing column 'Speed\(d/s\)'"),
        ("h.csv", HUMAC_MINI.replace("89.4,20", "89.4,x20"), "line 3: non-numeric value"),
        ("h.csv", HUMAC_MINI.replace("Foot-Pounds", "kgf-cm"), "unknown torque unit 'kgf-cm'"),
        ("c.ctm", CTM_MINI.replace("samples\t3", "samples\t9"), "header promises 9 samples, file holds 4"),
        ("c.ctm", CTM_MINI.replace("samplingrate\t256\tHz\r\n", ""), "missing 'samplingrate'"),
        ("c.ctm", CTM_MINI.replace("1.5\t2.5", "1.5\tabc"), "line 16: non-numeric value 'abc'"),
        ("c.ctm", CTM_MINI.replace("pattern\t210", "pattern\t305"), "pattern 305 .* no known sign convention"),
        ("c.ctm", CTM_MINI.replace("move 2\t2", "move 2\t7"), "marker 7 is beyond the 3 samples"),
        ("c.ctm", CTM_MINI.split("[data]")[0], r"without a \[data\] section"),
        ("b.txt", BIODEX.read_text().replace("Direction: Extension/Flexion\n", ""), "missing 'Direction'"),
        ("b.txt", BIODEX.read_text().replace("Joint: Knee", "Joint: Neck"), "unknown joint 'Neck'"),
        ("b.txt", BIODEX.read_text().replace("Extension/Flexion", "Abduction/Flexion"), "is not a knee pattern"),
        ("b.txt", BIODEX.read_text().replace("Extension/Flexion", "Up/Down"), "cannot read the directions 'Up/Down'"),
        ("b.txt", BIODEX.read_text().replace("\n1\t2\t1300", "\n1.5\t2\t1300"), "line 28: Set 1.5 is not whole"),
        ("b.txt", BIODEX.read_text().replace("\t1300\t", "\t1100\t"), "line 28: time does not increase"),
        ("b.txt", BIODEX.read_text().replace("1\t1\t400\t", "1\t1\t400\t58.8.1\t"), "line 19: non-numeric"),
        ("i.txt", ISOMED.read_text().replace("15;-570;464;3000;0;1", "15;-570;464"), "line 12: 3 values, expected 6"),
    ],
)
def test_broken_exports_name_the_file_and_the_problem(tmp_path: Path, name: str, content: str, message: str) -> None:
    with pytest.raises(RecordingFormatError, match=f"{name}: .*{message}"):
        load_recording(write(tmp_path, name, content))


ISOKIN_MINI = (
    "# isokin recording: 1\n# joint: knee\n# markers: 0,2\ntime_s,torque_nm,position_deg,velocity_dps,status,sequence\n"
    "0,1.5,90,0,0,0\n0.001,2.5,89.9,-60,0,1\n# gap: 1 sample\n0.003,3,89.8,-60,1,3\n"
)
SAMPLES = [HUMAC_MINI.encode(), CTM_MINI.encode("latin-1"), BIODEX.read_bytes(), ISOMED.read_bytes(), ISOKIN_MINI.encode()]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    sample=st.sampled_from(SAMPLES),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.binary(max_size=3), st.integers(0, 4)), max_size=4),
)
def test_mangled_exports_raise_only_format_errors(
    tmp_path: Path, sample: bytes, edits: list[tuple[float, bytes, int]]
) -> None:
    data = bytearray(sample)
    for where, insert, cut in edits:
        at = int(where * len(data))
        data[at : at + cut] = insert
    path = write(tmp_path, "fuzz.txt", bytes(data))
    try:
        rec = load_recording(path)
    except RecordingFormatError as err:
        assert str(err).startswith(str(path))
    else:
        assert len(rec.time_s) == len(rec.torque_nm) > 0


# --- the device's sample index from its clock -------------------------------------------------------


@pytest.mark.parametrize("path", [BIODEX, ISOMED])
def test_vendor_files_carry_the_sample_index_of_their_device_clock(path: Path) -> None:
    rec = load_recording(path)
    np.testing.assert_array_equal(rec.extra["sequence"], np.arange(len(rec)))


def test_a_row_missing_from_a_vendor_export_is_a_jump_of_its_clock_index(tmp_path: Path) -> None:
    lines = HUMAC_MINI.splitlines(keepends=True)
    rec = load_recording(write(tmp_path, "missing.csv", "".join(lines[:3] + lines[4:])))  # the .02 s row is gone
    assert rec.extra["sequence"].tolist() == [0, 1, 3, 4, 5]
    ctm = load_recording(write(tmp_path, "mini.ctm", CTM_MINI))
    assert ctm.extra["sequence"].tolist() == [0, 1, 2]
