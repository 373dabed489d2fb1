"""The enterprise's pages: its registration and bank account, a claim form per item (built from
the form the claims service describes), evidence upload, its claims with reasons and payment.

Everything is read from and sent to the services with the enterprise's own token: claims
decides what it may register, claim and see; the console only lays it out and says, beside
each field, what a refusal was about.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from ruralfund_common.credit_code import validate_credit_code
from ruralfund_common.errors import InvalidInput
from starlette.datastructures import UploadFile as StarletteUpload  # what request.form() holds

from ..enterprise_forms import (
    REGISTRATION_FIELDS,
    FormErrors,
    chinese_part,
    evidence_from_form,
    form_values_of,
    reason_zh,
    refusal_errors,
    registration_values,
)
from ..services import ServiceError, Services
from ..session import Session
from ..web import TEMPLATES, Refused, SignedForm, SignedIn, services, web

__all__ = ["router"]

router = APIRouter(prefix="/enterprise")
TEMPLATES.env.filters["chinese_part"] = chinese_part
CLAIMS_PER_PAGE: Final = 50
KINDS_ZH: Final = {"enterprise": "企业", "station_operator": "站点运营者"}


def _enterprise(session: Session) -> str:
    """The signed-in enterprise's credit code: these pages are an enterprise's own."""
    if "enterprise" not in session.roles or not session.credit_code:
        raise Refused("无权访问", "此页面仅供企业用户使用。")
    return session.credit_code


async def _registered(svc: Services, session: Session, code: str) -> dict[str, Any] | None:
    try:
        return await svc.get("claims", f"/enterprises/{code}", session.token or "")
    except ServiceError as exc:
        if exc.status == 404:
            return None
        raise


async def _programs(svc: Services, session: Session) -> list[dict[str, Any]]:
    return (await svc.get("claims", "/programs", session.token or "", limit=100))["items"]


# --------------------------------------------------------------------------- registration


@router.get("/registration", response_class=HTMLResponse)
async def registration_page(request: Request, session: SignedIn) -> Response:
    code = _enterprise(session)
    svc = services(request)
    current = await _registered(svc, session, code)
    values = registration_values(current) if current else {"credit_code": code, "kind": "enterprise"}
    return await _registration(request, session, current, values, FormErrors())


async def _registration(request: Request, session: Session, current: dict[str, Any] | None,
                        values: dict[str, str], errors: FormErrors, status: int = 200) -> Response:
    programs = await _programs(services(request), session)
    return web(request).page(request, "enterprise_registration.html", session, status=status,
                             current=current, values=values, errors=errors, programs=programs,
                             kinds=KINDS_ZH, fields=REGISTRATION_FIELDS)


@router.post("/registration")
async def register(request: Request, session: SignedForm) -> Response:
    code = _enterprise(session)
    svc = services(request)
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in REGISTRATION_FIELDS}
    current = await _registered(svc, session, code)
    if current:
        values["credit_code"] = current["credit_code"]  # fixed once registered
    errors = _check_registration(values, registering=current is None)
    if errors:
        return await _registration(request, session, current, values, errors, status=422)
    contact = {"name": values["contact_name"], "email": values["contact_email"] or None,
               "phone": values["contact_phone"] or None}
    bank = {"bank_name": values["bank_name"], "account_no": values["account_no"]}
    program = values["program_code"] or None
    try:
        if current is None:
            await svc.post("claims", "/enterprises", session.token or "", {
                "credit_code": values["credit_code"], "name": values["name"], "kind": values["kind"],
                "contact": contact, "bank_account": bank, "program_code": program})
        else:
            change: dict[str, Any] = {"name": values["name"], "contact": contact, "bank_account": bank}
            if program and program not in current["programs"]:
                change["program_code"] = program
            await svc.patch("claims", f"/enterprises/{code}", session.token or "", change)
    except ServiceError as exc:
        if exc.status >= 500:
            raise
        return await _registration(request, session, current, values,
                                   refusal_errors(exc, REGISTRATION_FIELDS), status=exc.status)
    return RedirectResponse("/enterprise/registration?saved=1", status_code=303)


def _check_registration(values: dict[str, str], *, registering: bool) -> FormErrors:
    """What the console can say at once, in Chinese; the rest is the service's to refuse."""
    errors = FormErrors()
    required = ["name", "contact_name", "bank_name", "account_no", *(["credit_code", "kind"] if registering else [])]
    for name in required:
        if not values[name]:
            errors.add(name, f"请填写{REGISTRATION_FIELDS[name]}。")
    if registering and values["credit_code"]:
        try:
            values["credit_code"] = validate_credit_code(values["credit_code"])
        except InvalidInput as exc:
            errors.add("credit_code", exc.detail_zh or "统一社会信用代码有误。")
    return errors


# --------------------------------------------------------------------------- claims


@router.get("/claims", response_class=HTMLResponse)
async def claims_page(request: Request, session: SignedIn,
                      cursor: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    code = _enterprise(session)
    svc, token = services(request), session.token or ""
    page = await svc.get("claims", "/claims", token, limit=CLAIMS_PER_PAGE, cursor=cursor)
    claims = page["items"]
    # what funds has paid this enterprise, per program: its own payee statement (funds scopes it)
    statements = []
    for program in sorted({c["program_code"] for c in claims if c.get("award_id")}):
        try:
            statement = await svc.get("funds", f"/programs/{quote(program)}/payees/{code}/statement", token)
            if statement["lines"]:  # nothing posted yet for this payee: nothing to show
                statements.append(statement)
        except ServiceError as exc:
            if exc.status != 404:
                raise
    registered = await _registered(svc, session, code)
    return web(request).page(request, "enterprise_claims.html", session, claims=claims,
                             statements=statements, registered=registered, reason_zh=reason_zh,
                             next_cursor=page.get("next_cursor"), first_page=cursor is None)


@router.get("/claims/new", response_class=HTMLResponse)
async def choose_item(request: Request, session: SignedIn) -> Response:
    code = _enterprise(session)
    svc = services(request)
    registered = await _registered(svc, session, code)
    # each program the enterprise takes part in, with its items (the list carries no items)
    programs = [await svc.get("claims", f"/programs/{quote(code)}", session.token or "")
                for code in (registered or {}).get("programs", [])]
    return web(request).page(request, "enterprise_items.html", session, registered=registered,
                             programs=programs)


async def _item(svc: Services, session: Session, program: str, item: str) -> dict[str, Any]:
    described = await svc.get("claims", f"/programs/{quote(program)}/items/{quote(item)}", session.token or "")
    if not described.get("claimable") or not described.get("form"):
        raise Refused("此项目不受理企业申报", f"“{described.get('name', item)}”不是以奖代补项目，或当前不受理申报。",
                      status=404)
    return described


@router.get("/claims/new/{program}/{item}", response_class=HTMLResponse)
async def claim_form(request: Request, program: str, item: str, session: SignedIn) -> Response:
    _enterprise(session)
    described = await _item(services(request), session, program, item)
    return _claim_form(request, session, described, {}, FormErrors())


def _claim_form(request: Request, session: Session, item: dict[str, Any], values: dict[str, str],
                errors: FormErrors, status: int = 200, claim: dict[str, Any] | None = None) -> Response:
    return web(request).page(request, "enterprise_claim_form.html", session, status=status, item=item,
                             values=values, errors=errors, claim=claim)


@router.post("/claims/new/{program}/{item}")
async def submit_claim(request: Request, program: str, item: str, session: SignedForm) -> Response:
    _enterprise(session)
    svc = services(request)
    described = await _item(svc, session, program, item)
    form = await request.form()
    values = form_values_of(form, described)
    evidence, errors = evidence_from_form(values, described)
    upload = form.get("file")
    upload = upload if isinstance(upload, StarletteUpload) and upload.filename else None
    content = await _read_upload(upload, described, errors) if upload else None
    if errors:
        return _claim_form(request, session, described, values, errors, status=422)
    try:
        claim = await svc.post("claims", "/claims", session.token or "",
                               {"program_code": program, "item_code": item, "evidence": evidence})
    except ServiceError as exc:
        if exc.status >= 500:
            raise
        return _claim_form(request, session, described, values, refusal_errors(exc, _field_labels(described)),
                           status=exc.status)
    target = f"/enterprise/claims/{quote(claim['id'])}?submitted=1"
    if upload and content is not None:
        try:
            await _forward(svc, session, claim["id"], upload.filename or "", content)
        except ServiceError as exc:  # the claim stands; its page says the file did not
            if exc.status >= 500:
                raise
            target += "&file_refused=" + quote(exc.detail_zh or exc.title_zh)
    return RedirectResponse(target, status_code=303)


def _field_labels(item: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["label_zh"] for f in item["form"]["fields"]} | {"file": "证明材料"}


async def _read_upload(upload: StarletteUpload, item: dict[str, Any], errors: FormErrors) -> bytes | None:
    """The file's bytes, or a Chinese error when it is larger than claims takes (never read whole)."""
    limit = item["evidence_files"]["max_bytes"]
    content = await upload.read(limit + 1)
    if len(content) > limit:
        errors.add("file", f"文件“{upload.filename}”超过 {limit / 1024 / 1024:g} MB，请压缩或拆分后上传。")
        return None
    if not content:
        errors.add("file", f"文件“{upload.filename}”是空文件。")
        return None
    return content


async def _forward(svc: Services, session: Session, claim_id: str, filename: str, content: bytes) -> Any:
    # sent as octet-stream: claims judges the type by the bytes (a browser's guess for .csv varies)
    return await svc.post_file("claims", f"/claims/{quote(claim_id)}/files", session.token or "", content,
                               "application/octet-stream", filename=filename)


@router.get("/claims/{claim_id}", response_class=HTMLResponse)
async def claim_page(request: Request, claim_id: str, session: SignedIn) -> Response:
    _enterprise(session)
    return await _claim_page(request, session, claim_id, FormErrors(), {})


async def _claim_page(request: Request, session: Session, claim_id: str, errors: FormErrors,
                      values: dict[str, str], status: int = 200) -> Response:
    svc, token = services(request), session.token or ""
    claim = await svc.get("claims", f"/claims/{quote(claim_id)}", token)
    files = await svc.get("claims", f"/claims/{quote(claim_id)}/files", token)
    item = await svc.get("claims", f"/programs/{quote(claim['program_code'])}/items/{quote(claim['item_code'])}",
                         token)
    if not values and item.get("form"):
        values = _values_of_evidence(claim["evidence"], item)
    return web(request).page(request, "enterprise_claim.html", session, status=status, claim=claim, files=files,
                             item=item, errors=errors, values=values, reason_zh=reason_zh,
                             submitted=request.query_params.get("submitted") == "1",
                             file_refused=request.query_params.get("file_refused"),
                             uploaded=request.query_params.get("uploaded") == "1")


def _values_of_evidence(evidence: dict[str, Any], item: dict[str, Any]) -> dict[str, str]:
    """The claim's evidence as the form's text (a returned claim's form starts from it)."""
    out = {}
    for field in item["form"]["fields"]:
        value: Any = evidence
        for part in field["name"].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        if field["input"] == "rows":
            cols = [c["name"] for c in field["columns"]]
            out[field["name"]] = "\n".join(" ".join(str(row.get(c, "")) for c in cols) for row in value)
        elif field["input"] == "boolean":
            out[field["name"]] = "on" if value else ""
        else:
            out[field["name"]] = str(value)
    return out


@router.post("/claims/{claim_id}/files")
async def upload_file(request: Request, claim_id: str, session: SignedForm,
                      file: Annotated[UploadFile | None, Form()] = None) -> Response:
    _enterprise(session)
    svc = services(request)
    claim = await svc.get("claims", f"/claims/{quote(claim_id)}", session.token or "")
    item = await svc.get("claims", f"/programs/{quote(claim['program_code'])}/items/{quote(claim['item_code'])}",
                         session.token or "")
    errors = FormErrors()
    if file is None or not file.filename:
        errors.add("file", "请选择要上传的文件。")
        content = None
    else:
        content = await _read_upload(file, item, errors)
    if errors or content is None or file is None:
        return await _claim_page(request, session, claim_id, errors, {}, status=422)
    try:
        await _forward(svc, session, claim_id, file.filename or "", content)
    except ServiceError as exc:
        if exc.status >= 500:
            raise
        return await _claim_page(request, session, claim_id, refusal_errors(exc, {"file": "证明材料"}), {},
                                 status=exc.status)
    return RedirectResponse(f"/enterprise/claims/{quote(claim_id)}?uploaded=1", status_code=303)


@router.post("/claims/{claim_id}/resubmit")
async def resubmit(request: Request, claim_id: str, session: SignedForm) -> Response:
    _enterprise(session)
    svc = services(request)
    claim = await svc.get("claims", f"/claims/{quote(claim_id)}", session.token or "")
    item = await _item(svc, session, claim["program_code"], claim["item_code"])
    values = form_values_of(await request.form(), item)
    evidence, errors = evidence_from_form(values, item)
    if errors:
        return await _claim_page(request, session, claim_id, errors, values, status=422)
    try:
        await svc.post("claims", f"/claims/{quote(claim_id)}/resubmit", session.token or "", {"evidence": evidence})
    except ServiceError as exc:
        if exc.status >= 500:
            raise
        return await _claim_page(request, session, claim_id, refusal_errors(exc, _field_labels(item)), values,
                                 status=exc.status)
    return RedirectResponse(f"/enterprise/claims/{quote(claim_id)}?submitted=1", status_code=303)


@router.post("/claims/{claim_id}/withdraw")
async def withdraw(request: Request, claim_id: str, session: SignedForm) -> Response:
    _enterprise(session)
    # claims decides whether it may still be withdrawn (before the leading group's decision)
    await services(request).post("claims", f"/claims/{quote(claim_id)}/withdraw", session.token or "", {})
    return RedirectResponse(f"/enterprise/claims/{quote(claim_id)}", status_code=303)
