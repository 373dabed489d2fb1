"""The check that keeps documented answers true (ruralfund_common.testing.openapi_check)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from ruralfund_common.testing.openapi_check import UndocumentedAnswer, check_answers_against_openapi


class Thing(BaseModel):
    amount_fen: int


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}", responses={200: {"model": Thing}})
    async def thing(thing_id: str) -> dict[str, object]:
        return {"amount_fen": "12.00" if thing_id == "wrong" else 1200}

    @app.get("/undocumented", response_model=None)
    async def undocumented() -> dict[str, object]:
        return {"anything": 1}

    # FastAPI documents `{}` for an answer without a model: nothing is promised
    app.openapi()["paths"]["/undocumented"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] = {}
    return app


async def test_a_documented_answer_passes_and_is_counted() -> None:
    app = _app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        checked = check_answers_against_openapi(client, app)
        assert (await client.get("/things/a")).status_code == 200
        assert (await client.get("/nowhere")).status_code == 404  # 4xx are not this check's business
    assert checked == ["GET /things/{thing_id} 200"]


@pytest.mark.parametrize(("path", "why"), [("/things/wrong", "does not match"), ("/undocumented", "no JSON body")])
async def test_an_answer_the_document_does_not_describe_is_refused(path: str, why: str) -> None:
    app = _app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        check_answers_against_openapi(client, app)
        with pytest.raises(UndocumentedAnswer, match=why):
            await client.get(path)
