"""``POST /v1/embeddings`` and ``POST /v1/rerank``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from gateway.api import render
from gateway.api.deps import authorize, call_info, service
from gateway.api.responses import JSONResponse
from gateway.core import params as p
from gateway.errors import InvalidRequestError
from gateway.schemas.openai import EmbeddingRequest, RerankRequest
from gateway.schemas.responses import EmbeddingListResponse, RerankResponse, ok
from gateway.service.gateway import GatewayService

router = APIRouter(dependencies=[Depends(authorize)])

MAX_INPUTS = 2048


def _inputs(body: EmbeddingRequest) -> list[str]:
    value = body.input
    if isinstance(value, str):
        return [value]
    if not value:
        raise InvalidRequestError("'input' must not be empty.", param="input")
    if not all(isinstance(item, str) for item in value):
        raise InvalidRequestError("Token-array 'input' is not supported; send strings.", param="input")
    if len(value) > MAX_INPUTS:
        raise InvalidRequestError(f"'input' may hold at most {MAX_INPUTS} items.", param="input")
    return [str(item) for item in value]


def _refuse_extras(body: Any) -> None:
    for name in body.model_extra or {}:
        raise InvalidRequestError(f"Unrecognized request argument supplied: {name}", param=name)


@router.post("/v1/embeddings", responses=ok(EmbeddingListResponse))
async def embeddings(body: EmbeddingRequest, request: Request,
                     svc: GatewayService = Depends(service)) -> JSONResponse:
    _refuse_extras(body)
    inputs = _inputs(body)
    parameters: dict[str, Any] = {p.NAME: body.model}
    if body.dimensions is not None:
        parameters[p.DIMENSIONS] = body.dimensions
    if body.user is not None:
        parameters[p.USER] = body.user
    if body.input_type is not None:
        parameters[p.INPUT_TYPE] = body.input_type
    result = await svc.embed(inputs, parameters, body.model, call_info(request, "embeddings"))
    return JSONResponse(render.embedding_list(result, body.model, body.encoding_format))


def _document_text(document: str | dict[str, Any], index: int) -> str:
    if isinstance(document, str):
        return document
    text = document.get("text")
    if not isinstance(text, str):
        raise InvalidRequestError(f"'documents[{index}]' must be a string or an object with 'text'.",
                                  param=f"documents[{index}]")
    return text


@router.post("/v1/rerank", responses=ok(RerankResponse))
async def rerank(body: RerankRequest, request: Request, svc: GatewayService = Depends(service)) -> JSONResponse:
    _refuse_extras(body)
    documents = [_document_text(d, i) for i, d in enumerate(body.documents)]
    parameters: dict[str, Any] = {p.NAME: body.model}
    if body.top_n is not None:
        parameters[p.TOP_N] = min(body.top_n, len(documents))
    info = call_info(request, "rerank")
    result = await svc.rerank(body.query, documents, parameters, body.model, info)
    returned = list(body.documents) if body.return_documents else None
    return JSONResponse(render.rerank_response(result, body.model, info.request_id, returned))
