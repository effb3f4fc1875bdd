"""The .env parser: comments, export, quotes, inline comments; a bad line names its number, never its text;
and .env.example lists every setting the command reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from prefect_alerts.setup import SETTINGS, EnvFileError, main, parse_env_text, read_env_file

REPO = Path(__file__).resolve().parents[2]


def values(text: str) -> dict[str, str]:
    return {key: entry.value for key, entry in parse_env_text(text).entries.items()}


def test_comments_export_quotes_and_inline_comments() -> None:
    text = "\n".join(
        [
            "\ufeff# a comment",
            "",
            "   # an indented comment",
            "PLAIN=https://hooks.slack.com/services/T0/B0/x  ",
            "export EXPORTED=value",
            "export   SPACED = spaced value  # trailing comment",
            "SINGLE='literal $HOME \\n # kept'",
            'DOUBLE="a \\"quoted\\" word\\tand\\\\slash \\q" # comment',
            "HASH_INSIDE=abc#def",
            "EMPTY=",
            "EMPTY_WITH_COMMENT= # nothing here",
            "EQUALS=a=b=c",
            "CRLF=windows\r",
        ]
    )
    assert values(text) == {
        "PLAIN": "https://hooks.slack.com/services/T0/B0/x",
        "EXPORTED": "value",
        "SPACED": "spaced value",
        "SINGLE": "literal $HOME \\n # kept",
        "DOUBLE": 'a "quoted" word\tand\\slash \\q',
        "HASH_INSIDE": "abc#def",
        "EMPTY": "",
        "EMPTY_WITH_COMMENT": "",
        "EQUALS": "a=b=c",
        "CRLF": "windows",
    }


def test_line_numbers_are_kept_and_a_repeated_key_warns() -> None:
    parsed = parse_env_text("# head\nA=1\n\nA=2\n", label="team.env")
    assert parsed.entries["A"].value == "2" and parsed.entries["A"].line == 4
    assert parsed.warnings == ["A is set on team.env lines 2 and 4; the last one is used"]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("https://hooks.slack.com/services/LEAKME", "no '='"),
        ("BAD KEY=LEAKME", "letters, digits and _"),
        ("=LEAKME", "letters, digits and _"),
        ("KEY='LEAKME", "not closed"),
        ('KEY="LEAKME', "not closed"),
        ("KEY='LEAK' ME", "after the closing quote"),
    ],
)
def test_a_malformed_line_names_its_number_never_its_text(line: str, problem: str) -> None:
    with pytest.raises(EnvFileError) as raised:
        parse_env_text(f"# first\nOK=1\n{line}\n", label=".env")
    message = str(raised.value)
    assert ".env line 3" in message and problem in message
    assert "LEAK" not in message


def test_a_missing_or_binary_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EnvFileError, match="no such file"):
        read_env_file(tmp_path / "absent.env")
    binary = tmp_path / "binary.env"
    binary.write_bytes(b"KEY=\xff\xfe\n")
    with pytest.raises(EnvFileError, match="not UTF-8"):
        read_env_file(binary)


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_a_file_others_can_read_gets_a_warning(tmp_path: Path) -> None:
    file = tmp_path / ".env"
    file.write_text("A=1\n")
    file.chmod(0o644)
    assert any("chmod 600" in warning for warning in read_env_file(file).warnings)
    file.chmod(0o600)
    assert read_env_file(file).warnings == []


def test_a_bad_line_through_the_command_exits_2_and_shows_nothing_of_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = tmp_path / "team.env"
    env.write_text(
        "PREFECT_ALERTS_BLOCK_NAME=ops\nPREFECT_ALERTS_SLACK_WEBHOOK_URL https://h.example/LEAKME\n"
    )
    assert main(["--env-file", str(env)]) == 2
    out = capsys.readouterr()
    assert f"{env} line 2" in out.err and "nothing was saved" in out.err
    assert "LEAKME" not in out.out + out.err


def test_env_example_lists_every_setting_and_sets_nothing() -> None:
    parsed = read_env_file(REPO / ".env.example")
    expected = {setting.env_var for setting in SETTINGS if setting.env_var}
    assert set(parsed.entries) == expected
    assert all(entry.value == "" for entry in parsed.entries.values())  # cp .env.example .env saves nothing
    lines = (REPO / ".env.example").read_text().splitlines()
    for key, entry in parsed.entries.items():  # every variable (or group of them) has a comment above it
        above = entry.line - 2
        while lines[above].startswith("PREFECT_ALERTS_"):
            above -= 1
        assert lines[above].startswith("# "), key


def test_the_readme_documents_every_flag_and_variable() -> None:
    readme = (REPO / "blocks" / "README.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.flag}`" in readme, setting.flag
        if setting.env_var:
            assert f"`{setting.env_var}`" in readme, setting.env_var
