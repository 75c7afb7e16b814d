"""Reference data: what a user is told when a download fails."""

from __future__ import annotations

import pytest


def test_a_failed_download_says_how_to_use_a_local_copy(monkeypatch, tmp_path):
    import pooch

    from exomir import refdata
    from exomir.errors import ReferenceDataError

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(ReferenceDataError) as caught:
        refdata.download("https://example.org/mature.fa", "mirbase", local="EXOMIR_MIRBASE=FOLDER or --mirbase FOLDER")
    message = str(caught.value)
    assert "network unreachable" in message and "EXOMIR_MIRBASE=FOLDER" in message
