"""NDJSON blocks: cut at line ends, every byte once, whatever the block size."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.readers import NdjsonSource

LINES = [
    b'{"a": "x"}\n',
    b"\n",
    b'{"a": "' + b"long " * 40 + b'"}\n',
    b'{"a": "\xc3\xa9\\n"}\n',
    b'{"a": "last, no line end"}',
]


@pytest.mark.parametrize("block_bytes", [1, 7, 16, 64, 4096])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_blocks_hold_every_line_once_and_end_at_a_line_end(
    tmp_path: Path, block_bytes: int, bom: bytes
) -> None:
    path = tmp_path / "records.ndjson"
    path.write_bytes(bom + b"".join(LINES))
    blocks = list(NdjsonSource(path)._blocks(block_bytes))
    assert b"".join(blocks) == b"".join(LINES)
    assert all(block.endswith(b"\n") for block in blocks[:-1])
    assert blocks[-1] == LINES[-1]


def test_a_file_that_ends_with_a_line_end_ends_with_a_whole_block(tmp_path: Path) -> None:
    path = tmp_path / "records.ndjson"
    path.write_bytes(b"".join(LINES[:4]))
    blocks = list(NdjsonSource(path)._blocks(16))
    assert b"".join(blocks) == b"".join(LINES[:4])
    assert all(block.endswith(b"\n") for block in blocks)
