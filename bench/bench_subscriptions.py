"""Subscription matching (issue 18): alerts against many subscriptions, exact checks included.

Builds ``--subscriptions`` random subscriptions over East Asia and the North Pacific (longitudes
100 E to 120 W, latitudes 0 to 65 N, so some lie across the antimeridian): three in five are
polygons of 4 to 16 points, from a town to a prefecture (0.05 to 1.5 degrees across), two in
five are circles of 2 to 150 km; each names one to four categories (most often the natural
hazards) and a minimum severity. Then ``--alerts`` random alerts, half polygons (a coast
segment, 0.3 to 5 degrees across) and half circles (10 to 400 km), each with a category and a
severity, go through ``SubscriptionIndex.matches`` one by one: the STRtree pre-filter and every
exact check behind it. Reports the build time and the time per alert (p50, p90, p99, max, wall
and CPU), how many subscriptions an alert matched, and the peak RSS of the process (the
subscriptions as dicts and the index together).

Usage: python -m bench.bench_subscriptions [--subscriptions 100000] [--alerts 2000] [--seed 18]
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.common import (
    Interference,
    interference_line,
    latency_summary,
    machine,
    machine_line,
    print_table,
    record,
    result,
)
from parley.formats.area_index import SEVERITY_RANK, Subscription, SubscriptionIndex
from parley.formats.areas import area_from_geojson, circle_area
from parley.formats.categories import CATEGORIES

MODULE = "bench.bench_subscriptions"
COMMON = ["geo.earthquake", "geo.tsunami", "geo.volcano", "met.tropical-cyclone", "met.flood"]
SEVERITIES = list(SEVERITY_RANK)


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--alerts", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=18)
    return parser.parse_args(argv)


def wrapped(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0


def place(rng: random.Random) -> tuple[float, float]:
    """A point of East Asia or the North Pacific: 100 E to 120 W, 0 to 65 N."""
    return wrapped(rng.uniform(100.0, 240.0)), rng.uniform(0.0, 65.0)


def polygon_area(rng: random.Random, across: tuple[float, float]) -> dict[str, Any]:
    lon, lat = place(rng)
    size = rng.uniform(*across)
    count = rng.randint(4, 16)
    angles = sorted(rng.uniform(0.0, 2.0 * math.pi) for _ in range(count))
    ring = []
    for angle in angles:  # star-shaped around (lon, lat): a simple polygon
        reach = size * rng.uniform(0.3, 0.5)
        ring.append([wrapped(lon + reach * math.cos(angle)), lat + reach * math.sin(angle)])
    return area_from_geojson({"type": "Polygon", "coordinates": [[*ring, ring[0]]]}, "area")


def circle_area_at(rng: random.Random, km: tuple[float, float]) -> dict[str, Any]:
    lon, lat = place(rng)
    return circle_area(round(lat, 4), round(lon, 4), round(rng.uniform(*km), 1), "circle")


def subscriptions(rng: random.Random, count: int) -> list[Subscription]:
    others = sorted(set(CATEGORIES) - set(COMMON))
    made = []
    for i in range(count):
        area = (
            polygon_area(rng, (0.05, 1.5)) if rng.random() < 0.6 else circle_area_at(rng, (2, 150))
        )
        wanted = set(rng.sample(COMMON, rng.randint(1, 3)))
        if rng.random() < 0.3:
            wanted.add(rng.choice(others))
        made.append(Subscription(i + 1, area, frozenset(wanted), rng.choice(SEVERITIES)))
    return made


def alerts(rng: random.Random, count: int) -> list[tuple[dict[str, Any], str, str]]:
    return [
        (
            polygon_area(rng, (0.3, 5.0)) if rng.random() < 0.5 else circle_area_at(rng, (10, 400)),
            rng.choice(COMMON),
            rng.choice(SEVERITIES[:4]),
        )
        for _ in range(count)
    ]


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    info = machine()
    print(machine_line(info))
    rng = random.Random(args.seed)
    subs = subscriptions(rng, args.subscriptions)
    crossing = sum(
        1
        for s in subs
        if "geometry" in s.area
        and len({float(p[0]) > 0 for p in s.area["geometry"]["coordinates"][0]}) == 2
    )
    noise = Interference()
    began, began_cpu = time.perf_counter(), time.process_time()
    index = SubscriptionIndex(subs)
    build_s, build_cpu_s = time.perf_counter() - began, time.process_time() - began_cpu
    work = alerts(rng, args.alerts)
    walls, cpus, found = [], [], []
    for area, category, severity in work:
        began, began_cpu = time.perf_counter(), time.process_time()
        matched = index.matches([area], category, severity)
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - began_cpu)
        found.append(len(matched))
    wall, cpu = latency_summary(walls), latency_summary(cpus)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    interference = noise.report()
    print_table(
        f"matching {args.alerts:,} alerts against {args.subscriptions:,} subscriptions "
        f"({crossing:,} polygons across the antimeridian)",
        ["per alert", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms"],
        [
            [
                "wall",
                wall["p50_ms"],
                wall["p90_ms"],
                wall["p99_ms"],
                wall["max_ms"],
                wall["mean_ms"],
            ],
            ["CPU", cpu["p50_ms"], cpu["p90_ms"], cpu["p99_ms"], cpu["max_ms"], cpu["mean_ms"]],
        ],
    )
    ordered = sorted(found)
    print_table(
        "index",
        ["figure", "value"],
        [
            ["build, wall s", build_s],
            ["build, CPU s", build_cpu_s],
            ["peak RSS of the process, MiB", peak_mib],
            ["matches per alert, mean", sum(found) / len(found)],
            ["matches per alert, median", float(ordered[len(ordered) // 2])],
            ["matches per alert, max", float(ordered[-1])],
        ],
    )
    print(interference_line(interference))
    record(
        f"subscriptions@{args.subscriptions}",
        result(
            "subscriptions",
            MODULE,
            argv,
            vars(args),
            {
                "wall": wall,
                "cpu": cpu,
                "build_s": build_s,
                "build_cpu_s": build_cpu_s,
                "crossing_polygons": crossing,
                "peak_rss_mib": peak_mib,
                "matches_mean": sum(found) / len(found),
                "matches_max": ordered[-1],
                "interference": interference,
            },
        ),
    )


if __name__ == "__main__":
    main()
