#!/usr/bin/python3
"""Regenerates tests/fixtures/fab_projections.json: minimum-norm points on a hyperplane inside the [0, 1] box,
solved independently of FAB's sort-and-search projections, by bisection on the optimality conditions:
  L2:   d_i = clip(lambda * w_i, -t_i, 1 - t_i), with lambda such that w . d = c   (c = b - w . t)
  Linf: the smallest s for which d_i = clip(s * sign(w_i) * sign(c), -t_i, 1 - t_i) reaches w . d = c
    /usr/bin/python3 tests/python/make_fab_fixtures.py"""
import json, os
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "fab_projections.json")
rng = np.random.default_rng(7)


def reach(t, w, d):
    return float(np.dot(w, d))


def l2(t, w, c):
    lo, hi = -t, 1 - t
    f = lambda lam: np.dot(w, np.clip(lam * w, lo, hi))
    a, b = (0.0, 1.0) if c > 0 else (-1.0, 0.0)
    while (f(b) < c) if c > 0 else (f(a) > c):
        if c > 0: b *= 2
        else: a *= 2
    for _ in range(200):
        m = (a + b) / 2
        if f(m) < c: a = m
        else: b = m
    return np.clip((a + b) / 2 * w, lo, hi)


def linf(t, w, c):
    lo, hi = -t, 1 - t
    sgn = np.sign(w) * np.sign(c)
    f = lambda s: abs(np.dot(w, np.clip(s * sgn, lo, hi)))
    a, b = 0.0, 1.0
    for _ in range(200):
        m = (a + b) / 2
        if f(m) < abs(c): a = m
        else: b = m
    s = (a + b) / 2
    return np.clip(s * sgn, lo, hi), s


cases = []
while len(cases) < 40:
    n = int(rng.integers(3, 13))
    t = rng.uniform(0, 1, n)
    w = rng.normal(size=n)
    if len(cases) % 4 == 1:
        w[rng.integers(0, n)] = 0.0
    # Keep the plane reachable inside the box.
    reachable = np.dot(w, np.where(w > 0, 1 - t, -t))
    lowest = np.dot(w, np.where(w > 0, -t, 1 - t))
    c = float(rng.uniform(0.05, 0.9) * (reachable if len(cases) % 2 == 0 else lowest))
    b = float(np.dot(w, t) + c)
    d2 = l2(t, w, c)
    dinf, s = linf(t, w, c)
    assert abs(np.dot(w, d2) - c) < 1e-9 and abs(np.dot(w, dinf) - c) < 1e-6
    cases.append({"t": t.tolist(), "w": w.tolist(), "b": b, "l2": d2.tolist(), "linf_norm": s})
with open(OUT, "w") as fh:
    json.dump(cases, fh)
print(f"{len(cases)} cases -> {OUT}")
