"""The JSON API's request and response models: the OpenAPI contract of the web app."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Problem(BaseModel):
    detail: str


class RefusedModelInfo(BaseModel):
    file: str
    reason: str


class Health(BaseModel):
    status: str
    version: str
    read_only: bool
    models: int
    reports: int
    refused_models: list[RefusedModelInfo]


class MirnaEntry(BaseModel):
    name: str
    records: int
    mimat: str


class MirnaView(BaseModel):
    query: str
    curated: bool
    identity: dict[str, Any]
    hmdd: dict[str, Any]
    names: list[str]
    mimats: list[str]
    records: list[dict[str, Any]]
    directions: dict[str, int]
    conflicts: list[dict[str, Any]]
    targets: dict[str, Any]
    cells: dict[str, list[str]]
    hallmarks: list[str]
    pathways: list[str]
    network: dict[str, Any]


class SearchResult(BaseModel):
    count: int
    records: list[dict[str, Any]]


class ReportInfo(BaseModel):
    id: str
    path: str
    title: str
    size: int
    modified: str
    url: str


class ModelInfo(BaseModel):
    id: str
    checksum: str
    measure: str
    task: dict[str, Any]
    features: list[str]
    cv_auc: float
    cv_auc_ci: list[float]
    threshold: float
    sensitivity: float
    specificity: float
    n_training: int
    exomir_version: str


class ScoreResult(BaseModel):
    model: ModelInfo
    n_samples: int
    n_called: int
    result_id: str
    download: str
    scores: list[dict[str, Any]]


class EvidenceSubmission(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", description="provenance name of the lab file")
    records: list[dict[str, Any]] = Field(min_length=1, max_length=500)
    mode: Literal["refuse", "append"] = Field(
        "refuse", description="under a lab name already in use: refuse (nothing changes) or append these records")


class EvidenceReceipt(BaseModel):
    imported: int
    name: str
    total_records: int


# the error answers an operation may give, all ``{"detail": ...}``
ERRORS = {404: {"model": Problem}, 413: {"model": Problem}, 422: {"model": Problem}}
