"""The review page's FastAPI application (served by uvicorn from `bot review`).

Routes:
- `GET /` artworks awaiting a choice; `GET /artworks/{id}` one artwork: the source image and
  every frame with its scores and near-copy flag; `GET /queue` the publish queue.
- `GET /images/frames/{frame_id}.png`, `GET /images/sources/{artwork_id}.png` the pictures.
- `POST /api/artworks/{id}/choose` `{"iteration": N}` — the same operation as
  `bot choose ARTWORK --iteration N` (`choose_by_person`, recorded as chosen on the review page);
  `POST /api/artworks/{id}/reject` `{"reason": "..."}`.
Access rules are in `bot.review.auth`. Every template is autoescaped: titles and reasons from
scraped listings are shown as text, never as markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Engine

from bot.pipeline.choose_stage import ChooseError, choose_by_person, reject_by_person
from bot.pipeline.frame_rank import RankWeights
from bot.review import views
from bot.review.auth import COOKIE, Gate
from generator.near_copy import NearCopyThresholds
from storage.blobstore import BlobStore
from storage.db import session_scope
from storage.models import Artwork, Listing
from storage.models.frame import Frame

HERE = Path(__file__).parent
MAX_BODY = 16_384


@dataclass(frozen=True)
class ReviewConfig:
    gate: Gate
    weights: RankWeights
    thresholds: NearCopyThresholds


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its file name ends with
        undefined=jinja2.StrictUndefined,
    )
    env.filters["num"] = lambda v, digits=3: "–" if v is None else f"{v:.{digits}f}"
    return Jinja2Templates(env=env)


def create_app(engine: Engine, blobs: BlobStore, config: ReviewConfig) -> FastAPI:
    app = FastAPI(title="nftbot review", docs_url=None, redoc_url=None, openapi_url=None)
    templates = _templates()
    gate = config.gate

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        if not gate.host_ok(request):
            return JSONResponse({"error": "unknown host"}, status_code=403)
        path = request.url.path
        if path.startswith("/static/"):
            response: Response = await call_next(request)
        elif request.method == "GET" and gate.query_token_ok(request):
            # The printed URL: trade the token for a cookie and drop it from the address.
            response = RedirectResponse(path, status_code=303)
            response.set_cookie(COOKIE, gate.token, httponly=True, samesite="strict", path="/")
        elif request.method in ("GET", "HEAD"):
            if not gate.page_ok(request):
                return HTMLResponse(
                    templates.get_template("refused.html.j2").render(
                        reason="This page needs the token that `bot review` printed at start."
                    ),
                    status_code=401,
                )
            response = await call_next(request)
        else:
            refusal = gate.post_refusal(request) if request.method == "POST" else "method"
            if refusal:
                return JSONResponse({"error": f"refused: {refusal}"}, status_code=403)
            response = await call_next(request)
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        return response

    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def render(request: Request, name: str, **context: Any) -> HTMLResponse:
        context.setdefault("token", gate.token)
        return templates.TemplateResponse(request, name, context)

    @app.get("/", response_class=HTMLResponse)
    def index(request: Request) -> HTMLResponse:
        with session_scope(engine) as session:
            artworks = views.awaiting(session, config.weights, config.thresholds)
        return render(request, "index.html.j2", artworks=artworks, page="index")

    @app.get("/artworks/{artwork_id}", response_class=HTMLResponse)
    def artwork_page(request: Request, artwork_id: int) -> HTMLResponse:
        with session_scope(engine) as session:
            view = views.one(session, artwork_id, config.weights, config.thresholds)
            waiting = [a.id for a in views.awaiting(session, config.weights, config.thresholds)]
        if view is None:
            return render(request, "refused.html.j2", reason=f"No artwork {artwork_id}.")
        later = [i for i in waiting if i > artwork_id]
        return render(
            request,
            "artwork.html.j2",
            artwork=view,
            next_id=later[0] if later else None,
            page="artwork",
            thresholds=config.thresholds,
        )

    @app.get("/queue", response_class=HTMLResponse)
    def queue_page(request: Request) -> HTMLResponse:
        with session_scope(engine) as session:
            artworks = views.queue(session, config.weights, config.thresholds)
        return render(request, "queue.html.j2", artworks=artworks, page="queue")

    def blob_response(sha256: str | None) -> Response:
        if not sha256 or not blobs.exists(sha256):
            return JSONResponse({"error": "image not found"}, status_code=404)
        return FileResponse(blobs.path_for(sha256), media_type="image/png")

    @app.get("/images/frames/{frame_id}.png")
    def frame_image(frame_id: int) -> Response:
        with session_scope(engine) as session:
            frame = session.get(Frame, frame_id)
            return blob_response(frame.blob_sha256 if frame else None)

    @app.get("/images/sources/{artwork_id}.png")
    def source_image(artwork_id: int) -> Response:
        with session_scope(engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                return blob_response(None)
            listing = session.get(Listing, artwork.listing_id)
            blob = artwork.init_image_blob or (listing.image_blob if listing else None)
        return blob_response(blob)

    async def json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ValueError("body too large")
        data = json.loads(raw or b"{}")
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        return data

    @app.post("/api/artworks/{artwork_id}/choose")
    async def choose(request: Request, artwork_id: int) -> JSONResponse:
        try:
            iteration = int((await json_body(request))["iteration"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'send {"iteration": N}'}, status_code=400)
        with session_scope(engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                return JSONResponse({"error": f"no artwork {artwork_id}"}, status_code=404)
            try:
                choice = choose_by_person(
                    session, artwork, iteration, via="review page", thresholds=config.thresholds
                )
            except ChooseError as exc:
                return JSONResponse({"error": str(exc)}, status_code=409)
            state = artwork.state
        near = choice.near_copy
        return JSONResponse(
            {
                "artwork_id": artwork_id,
                "iteration": iteration,
                "frame_id": choice.frame.id,
                "state": state,
                "changed": choice.changed,
                "near_copy": near.reason if near is not None and near.near_copy else None,
            }
        )

    @app.post("/api/artworks/{artwork_id}/reject")
    async def reject(request: Request, artwork_id: int) -> JSONResponse:
        try:
            reason = str((await json_body(request))["reason"])
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'send {"reason": "..."}'}, status_code=400)
        with session_scope(engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                return JSONResponse({"error": f"no artwork {artwork_id}"}, status_code=404)
            try:
                reject_by_person(session, artwork, reason, via="review page")
            except ChooseError as exc:
                return JSONResponse({"error": str(exc)}, status_code=409)
            return JSONResponse({"artwork_id": artwork_id, "state": artwork.state})

    return app
