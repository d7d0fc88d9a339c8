"""An invalid setting in one line: the variable, the value it had (secrets masked), what it accepts.

Pydantic's own message ("Input should be a valid boolean, unable to interpret input") names
neither the value nor the choices, and Celery shows it as the last line of a traceback.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

#: What a value of each pydantic error type must look like, in words.
_ACCEPTED = {
    "bool_parsing": "true or false (also 1/0, yes/no, on/off)",
    "bool_type": "true or false (also 1/0, yes/no, on/off)",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
}
_SECRET_NAMES = ("KEY", "SECRET", "PASSWORD", "TOKEN", "AUTH")
_URL_PASSWORD = re.compile(r"(://[^:/@]*):[^@/]*@")


def describe(exc: ValidationError) -> str:
    """Every problem, joined with "; "."""
    return "; ".join(_describe_one(error) for error in exc.errors())


def masked_url(url: str) -> str:
    """The URL with any password replaced by ***."""
    return _URL_PASSWORD.sub(r"\1:***@", url)


def _describe_one(error: Any) -> str:
    variable = "/".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if not variable:  # a check across settings: its message names the variables and values
        return message
    accepted = _ACCEPTED.get(error["type"]) or (error.get("ctx") or {}).get("expected")
    shown = f"{variable}={_shown(variable, error.get('input'))}"
    return f"{shown} is not accepted: use {accepted}" if accepted else f"{shown}: {message}"


def _shown(variable: str, value: Any) -> str:
    if any(name in variable.upper() for name in _SECRET_NAMES):
        return "***"
    return repr(masked_url(value) if isinstance(value, str) else value)
