"""Passwords nobody should choose, refused when a password is set (sign-up, password change).

NIST SP 800-63B (5.1.1.2) asks a verifier to compare a new password against a list of values known
to be commonly used, expected or compromised (breach corpuses, repetitive characters), and to say
why it refused one. The list is zxcvbn's "passwords" frequency list: the 30,000 most common
passwords of leaked corpora, lower case, shipped in the zxcvbn wheel and updated with it. The gateway
checks it (so the 422 names the field) and accounts checks it again (for any other caller); login
never does, so an existing account keeps working until its owner changes the password.
"""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path

TOO_COMMON = "this password is too common: it appears in lists of breached passwords; choose another"
REPEATED = "this password is one character repeated (or only spaces), which is easy to guess; choose another"


def _load_common_passwords() -> frozenset[str]:
    # zxcvbn's package __init__ builds ranked dictionaries of all six of its word lists (about
    # 16 MiB); the one list needed here is in a module of plain literals, loaded on its own (15 to
    # 70 ms on the dev machine, depending on its load; about 6 MiB resident, 3.6 MiB of it the set)
    # and then dropped, keeping only the set.
    spec = importlib.util.find_spec("zxcvbn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("zxcvbn is not installed (it ships the common-password list)")
    path = Path(spec.submodule_search_locations[0]) / "frequency_lists.py"
    lists_spec = importlib.util.spec_from_file_location("_zxcvbn_frequency_lists", path)
    assert lists_spec is not None and lists_spec.loader is not None
    module = importlib.util.module_from_spec(lists_spec)
    lists_spec.loader.exec_module(module)
    return frozenset(module.FREQUENCY_LISTS["passwords"])


# Loaded once per process, at import.
COMMON_PASSWORDS = _load_common_passwords()


def normalized(password: str) -> str:
    """How a password is compared with the list: Unicode-normalised (NFKC, as NIST asks), without
    surrounding whitespace, case-folded ("Password " is "password")."""
    return unicodedata.normalize("NFKC", password).strip().casefold()


def password_problem(password: str) -> str | None:
    """Why `password` must not be used, or None. Length is checked by the callers."""
    text = normalized(password)
    if len(set(text)) <= 1:
        return REPEATED
    if text in COMMON_PASSWORDS:
        return TOO_COMMON
    return None
