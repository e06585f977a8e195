"""The needs shipped with Rapport. Kept apart from the classifier so that code which
only needs the names (the inbox, `retag`) does not import scikit-learn."""

DEFAULT_NEEDS: tuple[str, ...] = (
    "pricing",
    "purchase",
    "order_status",
    "technical_support",
    "billing",
    "refund",
    "cancellation",
    "complaint",
    "feedback",
    "account",
    "human_agent",
    "greeting",
    "other",
)
OTHER = "other"
