"""The Gallery: a card per variant (text and data) and the pictures of its demo model (drawn and cached)."""

from gandash.gallery.cards import *  # noqa: F401,F403
