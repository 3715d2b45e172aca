"""Output files: the --out check's messages, and writes that are whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from simulator.errors import UserError
from simulator.outfile import check_out_file, write_atomic


class _Killed(BaseException):
    """Stands for a kill: not an Exception, so nothing on the way catches it."""


def test_out_file_in_an_existing_folder_is_returned_as_a_path(tmp_path: Path) -> None:
    out = check_out_file(str(tmp_path / "r.json"), expected="a results file", example="results.json")
    assert out == tmp_path / "r.json"
    (tmp_path / "r.json").write_text("old")  # an existing file may be replaced
    assert check_out_file(tmp_path / "r.json", expected="a results file", example="results.json") == out


def test_out_file_in_a_missing_folder_names_the_file_and_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "no" / "r.json"
    with pytest.raises(UserError) as err:
        check_out_file(out, expected="a results file", example="results.json")
    assert str(err.value) == f"--out {out}: folder {out.parent} does not exist"


def test_out_file_that_is_a_folder_suggests_a_file_in_it(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        check_out_file(tmp_path, expected="a JSON file", example="params.json")
    assert str(err.value) == f"--out {tmp_path}: is a folder; expected a JSON file, e.g. {tmp_path / 'params.json'}"


def test_the_message_names_the_option_given(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        check_out_file(tmp_path / "no" / "P.md", expected="a Markdown file", example="P.md", option="--doc")
    assert str(err.value) == f"--doc {tmp_path / 'no' / 'P.md'}: folder {tmp_path / 'no'} does not exist"


def test_text_is_written_as_utf8_and_replaces_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b"old")
    assert write_atomic(str(path), '{"name": "Å"}\n') == path
    assert path.read_bytes() == '{"name": "Å"}\n'.encode("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_writer_function_gets_a_hidden_temporary_name_beside_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.bin"
    names = []

    def write(tmp: str) -> None:
        names.append(tmp)
        assert Path(tmp).read_bytes() == b"" and not path.exists()  # the file appears only when renamed
        Path(tmp).write_bytes(b"\x00\x01")

    write_atomic(path, write)
    assert path.read_bytes() == b"\x00\x01" and len(names) == 1
    tmp = Path(names[0])
    assert tmp.parent == tmp_path and tmp.name.startswith(".w.bin.") and tmp.name.endswith(".tmp")
    assert [p.name for p in tmp_path.iterdir()] == ["w.bin"]


def test_the_file_gets_the_permissions_of_an_ordinary_new_file(tmp_path: Path) -> None:
    """Not owner-only (0o600, what tempfile.mkstemp would give)."""
    (tmp_path / "plain.json").write_text("{}")
    write_atomic(tmp_path / "a.json", "{}")
    write_atomic(tmp_path / "b.bin", lambda tmp: Path(tmp).write_bytes(b"\x00"))
    mode = (tmp_path / "plain.json").stat().st_mode
    assert (tmp_path / "a.json").stat().st_mode == (tmp_path / "b.bin").stat().st_mode == mode


@pytest.mark.parametrize("failure", [OSError("disk full"), _Killed()])
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path: Path, failure: BaseException) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(b"old")

    def half_written(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise failure

    with pytest.raises(type(failure)):
        write_atomic(path, half_written)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_a_failed_rename_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    def refuse(src: object, dst: object) -> None:
        raise OSError("rename refused")

    monkeypatch.setattr("simulator.outfile.os.replace", refuse)
    with pytest.raises(OSError, match="rename refused"):
        write_atomic(tmp_path / "a.json", "{}")
    assert list(tmp_path.iterdir()) == []


def test_temporary_files_left_by_a_kill_do_not_disturb_the_next_write(tmp_path: Path) -> None:
    """A killed run's temporary file (the old fixed name, or one of its own) is neither used nor
    overwritten: it stays as it was, and the file is written whole."""
    left = {".a.json.tmp": b"left by a killed run, longer than the new text", ".a.json.k1ll3d.tmp": b"half"}
    for name, data in left.items():
        (tmp_path / name).write_bytes(data)
    write_atomic(tmp_path / "a.json", "{}")
    assert (tmp_path / "a.json").read_text() == "{}"
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != "a.json"} == left


def test_two_interleaved_writers_of_one_path_each_write_a_whole_file(tmp_path: Path) -> None:
    """The first writer, half-way through its temporary file, lets a second write the same path
    whole; each has its own temporary file, so the file ends as the whole text of the one that
    renamed last (the first), and no temporary file is left."""
    path = tmp_path / "a.json"
    first = '{"writer": "first", "padding": "' + "x" * 5000 + '"}'
    second = '{"writer": "second"}'

    def interrupted(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(first[:100])
            fh.flush()
            write_atomic(path, second)
            assert path.read_text() == second
            fh.write(first[100:])

    write_atomic(path, interrupted)
    assert path.read_text() == first
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
