"""When next: Holt's linear trend on a multi-day investigation's daily totals."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd


def forecast(daily: pd.DataFrame, metric: str, horizon: int = 3) -> tuple[pd.DataFrame, str]:
    """Holt's linear trend (double exponential smoothing) on the daily series.

    alpha and beta are chosen on a 0.1 grid by the smallest sum of squared one-step errors;
    with two days it is the straight line through them. Forecasts never go below zero.
    """
    y = daily[metric].to_numpy(dtype=float)
    last = daily["day"].iloc[-1]
    if len(y) < 2:
        return pd.DataFrame(columns=["day", metric]), "none (one day of data)"
    best = (math.inf, 0.5, 0.5)
    grid = np.round(np.arange(0.1, 1.0, 0.1), 1)
    for alpha in grid:
        for beta in grid:
            sse = _holt(y, alpha, beta)[2]
            if sse < best[0] - 1e-9:
                best = (sse, alpha, beta)
    _, alpha, beta = best
    level, trend, _ = _holt(y, alpha, beta)
    values = np.maximum(level + trend * np.arange(1, horizon + 1), 0.0)
    days = [last + dt.timedelta(days=i) for i in range(1, horizon + 1)]
    method = f"Holt's linear trend (alpha={alpha:.1f}, beta={beta:.1f}) over {len(y)} days"
    return pd.DataFrame({"day": days, metric: np.round(values, 1)}), method


def _holt(y: np.ndarray, alpha: float, beta: float) -> tuple[float, float, float]:
    level, trend, sse = y[0], y[1] - y[0], 0.0
    for value in y[1:]:
        predicted = level + trend
        sse += (value - predicted) ** 2
        new_level = alpha * value + (1 - alpha) * predicted
        trend = beta * (new_level - level) + (1 - beta) * trend
        level = new_level
    return level, trend, sse
