"""The payload 2.0 response helpers (every first-version handler has been replaced)."""

from __future__ import annotations

import json

from lambdas.shared.http import error_response, json_response


def test_json_response_has_the_http_api_payload_2_shape() -> None:
    response = json_response(201, {"name": "démo", "ok": True}, cookies=["a=1; Secure; HttpOnly"])
    assert response["statusCode"] == 201
    assert response["isBase64Encoded"] is False
    assert response["cookies"] == ["a=1; Secure; HttpOnly"]
    assert response["headers"]["content-type"].startswith("application/json")
    assert response["headers"]["cache-control"] == "no-store"
    assert json.loads(response["body"]) == {"name": "démo", "ok": True}


def test_json_response_headers_add_to_and_override_the_defaults() -> None:
    response = json_response(200, [], headers={"Cache-Control": "max-age=60", "Location": "/x"})
    assert response["headers"]["cache-control"] == "max-age=60"
    assert response["headers"]["location"] == "/x"
    assert response["cookies"] == []


def test_error_response_uses_the_one_error_shape() -> None:
    response = error_response(404, "not_found", "No such project.")
    assert response["statusCode"] == 404
    assert json.loads(response["body"]) == {"error": {"code": "not_found", "message": "No such project."}}
