"""`--tokens-file`, `--hmac-file` and `--token-sources-file` as a Windows editor saves them: a
byte order mark first, CRLF line ends. The mark was read as part of the first source's name
(`\\ufeffcrm`), so that source's records were refused or stored under a name nothing joins."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.server.auth import (
    TOKENS_ENV,
    AuthConfigError,
    Authenticator,
    load_secrets,
    load_token_sources,
)

#: the reviewer's file (Notepad, "UTF-8 with BOM", CRLF), byte for byte
NOTEPAD_TOKENS = (
    b"\xef\xbb\xbfcrm=tok-crm-0123456789abcdef\r\n"
    b"# comment\r\n"
    b"b64 = dG9rZW4tYmFzZTY0LXZhbHVlLXh5eg==\r\n"
)


def test_a_notepad_tokens_file_names_its_sources_without_the_bom(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_bytes(NOTEPAD_TOKENS)
    tokens = load_secrets(TOKENS_ENV, path)
    assert tokens == {
        "crm": "tok-crm-0123456789abcdef",
        "b64": "dG9rZW4tYmFzZTY0LXZhbHVlLXh5eg==",
    }
    auth = Authenticator(tokens)
    assert auth.source_of("Bearer tok-crm-0123456789abcdef") == "crm"
    assert auth.sources == ["crm", "b64"]


def test_a_token_sources_file_with_a_bom_binds_its_first_token(tmp_path: Path) -> None:
    path = tmp_path / "token-sources.txt"
    path.write_bytes(b"\xef\xbb\xbfcrm=/acme/crm, crm\r\nb64=/acme/b64\r\n")
    tokens = {"crm": "tok-crm-0123456789abcdef", "b64": "dG9rZW4tYmFzZTY0LXZhbHVl"}
    assert load_token_sources("UNUSED_ENV", path, tokens) == {
        "crm": frozenset({"/acme/crm", "crm"}),
        "b64": frozenset({"/acme/b64"}),
    }


@pytest.mark.parametrize("name", ["c\u200brm", "\ufeffcrm", "crm\x00"])
def test_an_invisible_character_in_a_source_name_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text(f"n8n=tok-n8n-aaaaaaaaaaaaaaaa\n{name}=tok-crm-0123456789abcdef\n")
    with pytest.raises(AuthConfigError, match="entry 2: .*invisible") as refused:
        load_secrets(TOKENS_ENV, path)
    assert "tok-crm" not in str(refused.value)  # the error never shows a secret


def test_a_tokens_file_in_another_encoding_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "tokens.txt"
    path.write_bytes("crm=tok-crm-0123456789abcdé\n".encode("latin-1"))
    with pytest.raises(AuthConfigError, match="not UTF-8"):
        load_secrets(TOKENS_ENV, path)
