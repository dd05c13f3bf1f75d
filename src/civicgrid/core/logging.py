"""Keep personal information out of application logs (security.md R20)."""

import logging
import re

ID_PATTERN = re.compile(r"(?<!\d)(\d{6})(\d{8})(\d{3}[\dXx])(?!\d)|(?<!\d)\d{15}(?!\d)")
PHONE_PATTERN = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_FORMATTER = logging.Formatter()


def redact(text: str) -> str:
    """Replace resident ID numbers and mobile numbers in free text with masks."""
    text = ID_PATTERN.sub(lambda m: (m.group(1) or m.group(0)[:6]) + "********" + m.group(0)[-4:], text)
    return PHONE_PATTERN.sub(lambda m: m.group(1) + "****" + m.group(3), text)


class RedactPersonalInformationFilter(logging.Filter):
    """Logging filter that rewrites each record's message, traceback and stack with ID and phone numbers masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        # A traceback repeats the exception's message (often the offending value): format it once here,
        # redacted, and formatters reuse the cached exc_text instead of formatting the raw exception.
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
