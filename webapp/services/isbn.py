"""ISBN arithmetic, shared by the demo seeder and the CSV import."""

from __future__ import annotations


def isbn13_check_digit(first_twelve: str) -> str:
    """The check digit that completes the first twelve digits of an ISBN-13."""
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(first_twelve))
    return str((10 - total % 10) % 10)


def is_valid_isbn13(value: str) -> bool:
    """True for thirteen digits whose last is the right check digit."""
    return len(value) == 13 and value.isascii() and value.isdigit() and isbn13_check_digit(value[:12]) == value[12]


def isbn13_from_isbn10(isbn10: str) -> str | None:
    """ISBN-13 of an ISBN-10 (leading zeros may be missing); None when it is not one."""
    digits = isbn10.strip().upper()
    if not digits:
        return None
    digits = digits.zfill(10)
    if len(digits) != 10 or not digits[:9].isdigit() or not (digits[9].isdigit() or digits[9] == "X"):
        return None
    values = [int(d) for d in digits[:9]] + [10 if digits[9] == "X" else int(digits[9])]
    if sum(value * weight for value, weight in zip(values, range(10, 0, -1))) % 11:
        return None  # the ISBN-10 check digit is wrong
    core = "978" + digits[:9]
    return core + isbn13_check_digit(core)
