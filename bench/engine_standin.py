"""An engine shaped like SpendSense's own `generate_recommendations`, for measuring what the hooks add.

Every call reads the user's row of the shipped signals.parquet and their
accounts (as `_load_user_context` does), works out the signals the way the
engine's feature step would, builds five recommendations with rationales and a
disclaimer, and writes the trace the way `_save_trace` does (read the file,
update it, `json.dump(..., indent=2)`). With `hooks=True` it also makes the
two calls README tells the engine to make.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "spendsense"
DISCLAIMER = "This is educational content, not financial advice. Consult a licensed advisor for personalized guidance."
#: Rows of the synthetic transaction table the feature step aggregates (calibrated to ~25-30 ms a call).
TRANSACTIONS = 200_000


class Engine:
    def __init__(self, trace_dir: Path, *, hooks: bool) -> None:
        self.trace_dir, self.hooks = trace_dir, hooks
        if hooks:  # as the engine module would, at import time
            import engine_hooks  # noqa: F401
        self.contexts = json.loads((DATA / "user_contexts_high_utilization.json").read_text())
        rng = np.random.default_rng(7)
        self.transactions = pd.DataFrame(
            {
                "account": rng.integers(0, 400, TRANSACTIONS),
                "amount": rng.gamma(2.0, 40.0, TRANSACTIONS),
                "day": rng.integers(0, 180, TRANSACTIONS),
                "merchant": rng.integers(0, 900, TRANSACTIONS),
            }
        )

    def users(self) -> list[str]:
        return sorted(self.contexts)

    def generate_recommendations(self, user_id: str) -> dict[str, Any]:
        signals = self._load_signals(user_id)
        context = {"signals": signals, "accounts": self.contexts[user_id]["accounts"]}
        features = self._features()
        recommendations = self._recommendations(signals, features)
        if self.hooks:
            from engine_hooks import enqueue_videos

            enqueue_videos(user_id, "High Utilization", recommendations, context)
        response = {
            "persona": "High Utilization",
            "recommendations": recommendations,
            "metadata": {"education_count": 4, "offer_count": 1, "total_count": 5},
        }
        self._save_trace(user_id, response, context)
        return response

    def _load_signals(self, user_id: str) -> pd.Series:
        frame = pd.read_parquet(DATA / "signals.parquet")
        return (
            frame.loc[frame["user_id"] == user_id].iloc[0]
            if user_id in set(frame["user_id"])
            else pd.Series(self.contexts[user_id]["signals"])
        )

    def _features(self) -> pd.DataFrame:
        """What SpendSense's feature step does per request: windows and recurring-merchant counts."""
        recent = self.transactions[self.transactions["day"] < 30]
        by_account = recent.groupby("account")["amount"].agg(["sum", "mean", "count"])
        recurring = self.transactions.groupby(["account", "merchant"]).size().groupby("account").max()
        return by_account.join(recurring.rename("recurring"), how="left")

    @staticmethod
    def _recommendations(signals: pd.Series, features: pd.DataFrame) -> list[dict[str, Any]]:
        utilization = float(signals["credit_max_util_pct"])
        topics = [
            ("credit_utilization", f"Your card is at {utilization:.0f}% utilization."),
            ("debt_paydown_strategy", f"{int(features['recurring'].max())} recurring charges on record."),
            ("credit_interest", "Interest adds up; see how."),
            ("balance_transfer", "A transfer could lower your interest."),
            ("autopay", "Autopay avoids missed payments."),
        ]
        return [
            {
                "type": "education",
                "title": topic.replace("_", " ").title(),
                "topic": topic,
                "rationale": rationale,
                "disclaimer": DISCLAIMER,
            }
            for topic, rationale in topics
        ]

    def _save_trace(self, user_id: str, response: dict[str, Any], user_context: dict[str, Any]) -> None:
        self.trace_dir.mkdir(parents=True, exist_ok=True)
        trace_file = self.trace_dir / f"{user_id}.json"
        trace = json.loads(trace_file.read_text()) if trace_file.exists() else {"user_id": user_id}
        trace["recommendations"] = {
            "persona": response["persona"],
            "recommendations": response["recommendations"],
            "total_recommendations": response["metadata"]["total_count"],
        }
        if self.hooks:
            from engine_hooks import save_trace

            save_trace(trace, trace_file)
        else:
            with open(trace_file, "w") as handle:
                json.dump(trace, handle, indent=2)
