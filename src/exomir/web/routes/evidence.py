"""``POST /api/evidence``: a lab adds its own evidence records (the server's only write, behind its
bearer token); the knowledge base's derived views are rebuilt afterwards."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from fastapi import APIRouter, Depends

from exomir.errors import InputError
from exomir.web.access import token_required
from exomir.web.schemas import EvidenceReceipt, EvidenceSubmission, Problem
from exomir.web.scoring import without_flags
from exomir.web.state import State
from exomir.kb import import_lab_file, read_evidence


def _in_api_words(message: str, path: Path, name: str) -> str:
    """An import error without the server's temporary folder or the command line's options."""
    text = message.replace(str(path), f"submission {name!r}")
    text = text.replace("another --name, or --append to add these records, or --replace to swap the file",
                        'another name, or "mode": "append" to add these records')  # fmt: skip
    return without_flags(text)


def router(state: State) -> APIRouter:
    routes = APIRouter()

    @routes.post("/api/evidence", response_model=EvidenceReceipt, tags=["knowledge base"],
                 dependencies=[Depends(token_required(state.settings))],
                 responses={403: {"model": Problem}, 422: {"model": Problem}})  # fmt: skip
    def api_add_evidence(submission: EvidenceSubmission) -> dict:
        """Add a lab's own evidence records (needs the server's EXOMIR_API_TOKEN as a bearer token)."""
        with tempfile.TemporaryDirectory(prefix="exomir-evidence-") as folder:
            path = Path(folder) / f"{submission.name}.yaml"
            path.write_text(yaml.safe_dump({"provenance": {"name": submission.name}, "records": submission.records},
                                           sort_keys=False, allow_unicode=True), encoding="utf-8")  # fmt: skip
            try:
                n = len(read_evidence(path, name=submission.name).records)
                import_lab_file(path, name=submission.name, mode=submission.mode)
            except InputError as exc:
                raise InputError(_in_api_words(str(exc), path, submission.name)) from None
        state.refresh_kb()
        return {"imported": n, "name": submission.name, "total_records": state.query(lambda: len(state.kb().table()))}

    return routes
