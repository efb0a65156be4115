"""``POST /v1/embeddings`` and ``POST /v1/rerank``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from fastapi import APIRouter, Depends, Request

from gateway.api import render
from gateway.api.deps import authorize, call_info, reserve, reserve_texts, service
from gateway.api.parsed import GatewayRoute
from gateway.api.responses import JSONResponse
from gateway.core import params as p
from gateway.core.requests import TokenInput
from gateway.errors import InvalidRequestError
from gateway.schemas.openai import EmbeddingRequest, RerankDocumentIn, RerankRequest
from gateway.schemas.responses import EmbeddingListResponse, RerankResponse, ok
from gateway.service.estimate import TokenEstimate
from gateway.service.gateway import GatewayService

router = APIRouter(route_class=GatewayRoute, dependencies=[Depends(authorize)])


def _split(body: EmbeddingRequest) -> tuple[list[str], TokenInput | None]:
    """The texts to embed, or (texts empty) the token arrays as given; the schema has bounded both."""
    given = body.input
    if isinstance(given, str):
        return [given], None
    if all(isinstance(item, str) for item in given):
        return [item for item in given if isinstance(item, str)], None
    return [], cast(TokenInput, given)


def _token_estimate(tokens: TokenInput) -> TokenEstimate:
    return TokenEstimate(sum(len(item) if isinstance(item, Sequence) else 1 for item in tokens))


def _refuse_extras(body: Any) -> None:
    for name in body.model_extra or {}:
        raise InvalidRequestError(f"Unrecognized request argument supplied: {name}", param=name)


@router.post("/v1/embeddings", responses=ok(EmbeddingListResponse))
async def embeddings(body: EmbeddingRequest, request: Request,
                     svc: GatewayService = Depends(service)) -> JSONResponse:
    _refuse_extras(body)
    inputs, tokens = _split(body)
    parameters: dict[str, Any] = {p.NAME: body.model}
    if body.dimensions is not None:
        parameters[p.DIMENSIONS] = body.dimensions
    if body.user is not None:
        parameters[p.USER] = body.user
    if body.input_type is not None:
        parameters[p.INPUT_TYPE] = body.input_type
    if tokens is None:
        await reserve_texts(request, inputs)
    else:
        await reserve(request, _token_estimate(tokens))
    result = await svc.embed(inputs, parameters, body.model, call_info(request, "embeddings"), tokens)
    return JSONResponse(render.embedding_list(result, body.model, body.encoding_format))


def _document(document: str | RerankDocumentIn) -> str | dict[str, Any]:
    return document if isinstance(document, str) else document.model_dump()


@router.post("/v1/rerank", responses=ok(RerankResponse))
async def rerank(body: RerankRequest, request: Request, svc: GatewayService = Depends(service)) -> JSONResponse:
    _refuse_extras(body)
    documents = [d if isinstance(d, str) else d.text for d in body.documents]
    parameters: dict[str, Any] = {p.NAME: body.model}
    if body.top_n is not None:
        parameters[p.TOP_N] = min(body.top_n, len(documents))
    await reserve_texts(request, [body.query, *documents])
    info = call_info(request, "rerank")
    result = await svc.rerank(body.query, documents, parameters, body.model, info)
    returned = [_document(d) for d in body.documents] if body.return_documents else None
    return JSONResponse(render.rerank_response(result, body.model, info.request_id, returned))
