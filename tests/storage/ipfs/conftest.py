from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.storage.ipfs.jsipfs_node import JsIpfsNode, start_node


@pytest.fixture(scope="session")
def jsipfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsIpfsNode]:
    node = start_node(tmp_path_factory.mktemp("jsipfs"))
    try:
        yield node
    finally:
        node.stop()
