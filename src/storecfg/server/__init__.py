"""The reference store server (SPEC section 3)."""
