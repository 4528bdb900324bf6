"""Messages for settings that do not validate: name the variable and say how to fix it."""

from __future__ import annotations

from pydantic import ValidationError


def settings_error_message(error: ValidationError, prefix: str = "AUTOCODER_") -> str:
    lines = ["invalid settings:"]
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "settings"
        name = field if field.isupper() else prefix + field.upper()
        lines.append(f"  {name}: {problem['msg']} (got {problem.get('input')!r})")
    lines.append("Fix the environment variable (or .env entry) named above and try again.")
    return "\n".join(lines)
