"""Display masks for personal information in lists and exports (GB/T 35273 §7.2)."""

from civicgrid.core import idnumber


def mask_id_number(value: str | None) -> str:
    """`371502199001011234` -> `371502********1234`."""
    return idnumber.mask(value) if value else ""


def mask_phone(value: str | None) -> str:
    """`13812345678` -> `138****5678`; short numbers keep only their last two digits."""
    if not value:
        return ""
    if len(value) >= 11:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return "*" * max(len(value) - 2, 0) + value[-2:]


def mask_name(value: str | None) -> str:
    """`王建国` -> `王**`: used where even a name is more than the reader needs."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)
