"""Full-text search latency at ``--count`` stored notifications in five languages (issue 18).

A query-latency benchmark: it does not sign, verify or append entries. It creates a real node
(``Node.create``: schema at the current migration), then fills its store directly, in batches
of ``--batch`` in one write transaction each (``durable=False``), through the store modules:

* ``entries`` rows (``logs.insert_entries``) of synthetic notifications by five parties, one
  language each (ja, zh, ko, ru, en), with a real canonical body of a headline, description
  and instruction composed from a few dozen fragments of alert text per language, place names
  and numbers; the TLP is GREEN (60%), AMBER (30%) or RED (10%, filtered out by the
  clearance used); the header (leaf) is a placeholder that nothing here reads;
* their search texts and postings (``search.insert_documents``), made by the very functions
  indexing uses (``node.search.entry_text``, ``textsearch.index_terms``); the cursor then
  stands at the last entry, as if the index job had run.

The filled store is cached under ``bench/out/search/n<count>[-pg]`` and reused while its
marker matches; ``--rebuild`` forces a new one. On PostgreSQL the node home there names the
database: pass an empty database to build (``--rebuild`` too), the same URL to reuse it.
Then each query of ``QUERIES`` (per language one- and two-character CJK words, longer words,
two-word queries, a rare word) runs through
``parley.node.search.search`` exactly as the API will call it (an analyst's clearance, first
page of 50), ``--warmup`` times untimed and ``--repeats`` times timed; each query and each
language gets p50 / p99 / max in milliseconds, with the hits on the first page and how many
entries hold the query's rarest term (counted up to 5,000, as the search does). The group
``none`` holds the worst case: two common words that no entry holds together.

Usage: python -m bench.bench_search [--count 1000000] [--repeats 50] [--database URL]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.common import (
    OUT,
    Interference,
    interference_line,
    latency_summary,
    machine,
    machine_line,
    peak_rss_mib,
    print_table,
    record,
    result,
    source_fingerprint,
)
from parley.core.canonical import canonical_bytes
from parley.core.entry import SALT_SIZE
from parley.formats.textsearch import index_terms, parse_query
from parley.node import search
from parley.node.node import Node
from parley.store import logs
from parley.store import search as search_rows

MODULE = "bench.bench_search"
HOMES = OUT / "search"
PARTY = "PH"
NETWORK = "parley-bench-search"
ANALYST = frozenset({"CLEAR", "GREEN", "AMBER", "AMBER+STRICT"})
BUILD_FORMAT = 1
MARKER = "bench-search.json"
AUTHORS = {"ja": "JP", "zh": "CN", "ko": "KR", "ru": "RU", "en": "US"}
RARE = 2000  # one entry in this many of a language mentions its rare place

# Fragments of alert text per language: (places, sentences, rare place).
LANGUAGES: dict[str, tuple[list[str], list[str], str]] = {
    "ja": (
        "宮城県沖 福島県 東京都 大阪府 北海道 沖縄県 静岡県 千葉県 能登地方 熊本県 鹿児島県 "
        "高知県 和歌山県 岩手県沿岸 新潟県 長野県 広島県 愛知県".split(),
        [
            "気象庁によると",
            "震度6強の地震が発生しました",
            "津波警報が発表されています",
            "高台へ避難してください",
            "沿岸部の住民は直ちに避難してください",
            "大雨特別警報が発表されました",
            "土砂災害に警戒してください",
            "河川の氾濫に注意してください",
            "停電が発生しています",
            "断水の恐れがあります",
            "台風が接近しています",
            "暴風域に入る見込みです",
            "避難指示が出されました",
            "交通機関に影響が出ています",
            "余震に注意してください",
            "火山の噴火警報が出ています",
            "海岸から離れてください",
            "最新の情報を確認してください",
            "自治体の指示に従ってください",
            "建物の倒壊が確認されています",
            "火災が発生しています",
            "被害状況を調査中です",
            "新幹線が運転を見合わせています",
            "高潮に警戒してください",
            "波浪警報が発表されています",
            "線状降水帯が発生しています",
        ],
        "父島",
    ),
    "zh": (
        "福建沿海 广东 浙江 四川 云南 台湾海峡 海南 上海 江苏 山东 广西 辽宁 河北 甘肃 "
        "青海 西藏 新疆 湖南".split(),
        [
            "中国地震台网正式测定",
            "发生6级地震",
            "震源深度10千米",
            "台风预计今晚登陆",
            "中央气象台发布台风红色预警",
            "暴雨预警",
            "请居民远离海岸",
            "做好防范工作",
            "注意防范山洪地质灾害",
            "城市内涝严重",
            "发布大风蓝色预警",
            "沿海地区做好转移安置",
            "交通受阻",
            "部分地区停电停水",
            "海浪预警",
            "风暴潮预警",
            "海啸预警已解除",
            "请注意余震",
            "救援队已赶赴现场",
            "暂无人员伤亡报告",
            "学校停课",
            "航班取消",
            "请关注最新气象信息",
            "各部门启动应急响应",
        ],
        "西沙群岛",
    ),
    "ko": (
        "경북 포항 경주 제주도 부산 울산 강원도 동해안 서울 인천 전남 여수 목포 대구 광주 "
        "대전 충남 전북".split(),
        [
            "기상청에 따르면",
            "규모 5.4의 지진이 발생했습니다",
            "지진해일 특보가 발표되었습니다",
            "해안 지역 주민은 대피하십시오",
            "태풍이 북상하고 있습니다",
            "호우 경보가 발령되었습니다",
            "산사태 위험이 높습니다",
            "강풍 주의보가 발효 중입니다",
            "정전이 발생했습니다",
            "여진에 주의하십시오",
            "저지대 침수에 대비하십시오",
            "가까운 대피소로 이동하십시오",
            "피해 상황을 조사 중입니다",
            "교통이 통제되고 있습니다",
            "해일 위험이 있습니다",
            "최신 정보를 확인하십시오",
            "지자체의 안내에 따르십시오",
            "건물 붕괴가 확인되었습니다",
            "화재가 발생했습니다",
            "열차 운행이 중단되었습니다",
            "폭염 경보가 발령되었습니다",
            "풍랑 경보가 발효 중입니다",
        ],
        "울릉도",
    ),
    "ru": (
        "Камчатки Сахалина Курил Приморья Владивостока Хабаровска Магадана Иркутска Байкала "
        "Чукотки Якутии Читы Бурятии Находки Петропавловска Корсакова Уссурийска".split(),
        [
            "Землетрясение магнитудой 6,8 произошло",
            "у побережья",
            "существует угроза цунами",
            "объявлена эвакуация",
            "жителям прибрежных районов следует уйти на возвышенность",
            "ожидается сильный ветер",
            "объявлено штормовое предупреждение",
            "ливневые дожди вызвали паводок",
            "зафиксировано отключение электроэнергии",
            "возможны повторные толчки",
            "следите за сообщениями МЧС",
            "пострадавших нет",
            "есть разрушения зданий",
            "перекрыто движение на трассе",
            "сохраняется лавиноопасность",
            "началось извержение вулкана",
            "возможен пепловый выброс",
            "угрозы цунами нет",
            "спасатели работают на месте",
            "занятия в школах отменены",
            "рейсы задерживаются",
            "введён режим чрезвычайной ситуации",
        ],
        "Шикотана",
    ),
    "en": (
        "Guam Hawaii Alaska Aleutians Manila Luzon Mindanao Jakarta Sumatra Java Fiji Tonga "
        "Samoa Vanuatu Darwin Auckland Taiwan Okinawa".split(),
        [
            "A magnitude 6.5 earthquake struck",
            "off the coast of",
            "a tsunami warning is in effect",
            "move to high ground immediately",
            "an evacuation order has been issued",
            "heavy rain warning",
            "flash flooding is expected",
            "power outages are reported",
            "aftershocks are likely",
            "stay away from the coast",
            "follow instructions from local authorities",
            "a typhoon is approaching",
            "strong winds are forecast",
            "storm surge is expected",
            "landslide risk is high",
            "a volcanic eruption is under way",
            "ash fall advisory",
            "there is no tsunami threat",
            "damage assessment is under way",
            "roads are closed",
            "schools are closed",
            "flights are cancelled",
        ],
        "Saipan",
    ),
}

QUERIES: dict[str, list[str]] = {
    "ja": ["地震", "津波", "震", "避難", "津波警報", "停電 断水", "父島"],
    "zh": ["台风", "地震", "风", "预警", "暴雨预警", "余震 救援", "西沙"],
    "ko": ["지진", "해일", "진", "대피", "지진해일", "정전 여진", "울릉도"],
    "ru": ["землетрясение", "цунами", "эвакуация", "угроза цунами", "мчс", "шикотана"],
    "en": ["earthquake", "tsunami", "evacuation", "tsunami warning", "aftershocks", "saipan"],
    # No entry holds both words (two common words of two languages), or the word at all: the
    # search walks every posting of one word before it knows.
    "none": ["津波 tsunami", "지진 землетрясение", "台风 earthquake", "火星"],
}


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--count", type=int, default=1_000_000, help="stored notifications")
    parser.add_argument("--batch", type=int, default=10_000, help="entries per write transaction")
    parser.add_argument("--repeats", type=int, default=50, help="timed runs of each query")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs of each query first")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--rebuild", action="store_true", help="discard the cached store")
    parser.add_argument("--seed", type=int, default=18)
    return parser.parse_args(argv)


# Building -----------------------------------------------------------------------------------


def compose(lang: str, rng: random.Random, i: int) -> dict[str, Any]:
    """A notification body in ``lang``: headline, description, instruction."""
    places, sentences, rare = LANGUAGES[lang]
    sep = "" if lang in ("ja", "zh") else " "
    stop = "。" if lang in ("ja", "zh") else ". "
    place = rare if i % RARE == RARE // 2 else rng.choice(places)
    headline = sep.join([place, *rng.sample(sentences, 2)])
    description = stop.join(
        sep.join([rng.choice(places), *rng.sample(sentences, 2)]) for _ in range(rng.randint(2, 4))
    )
    instruction = stop.join(rng.sample(sentences, rng.randint(1, 2)))
    return {
        "category": "geo.earthquake",
        "msg_type": "Alert",
        "status": "Actual",
        "identifier": f"bench-{lang}-{i}",
        "sender": f"{AUTHORS[lang]}@parley-bench",
        "info": [
            {
                "lang": lang,
                "headline": f"{headline} {rng.randint(1, 9)}.{rng.randint(0, 9)}",
                "description": description,
                "instruction": instruction,
            }
        ],
    }


def sharing(rng: random.Random) -> tuple[str, str]:
    """(audience, tlp): GREEN to ALL 60%, AMBER to this party 30%, RED to it 10%."""
    roll = rng.random()
    if roll < 0.6:
        return "ALL", "GREEN"
    return (PARTY, "AMBER") if roll < 0.9 else (PARTY, "RED")


def batches(
    count: int, batch: int, first_ingest: int, seed: int
) -> Iterator[tuple[list[dict[str, Any]], list[search_rows.Document]]]:
    """(entry rows, search documents) for ``count`` notifications, ``batch`` at a time."""
    rng = random.Random(seed)
    langs = list(LANGUAGES)
    seqs = dict.fromkeys(AUTHORS.values(), 0)
    now = int(time.time() * 1000)
    salt = bytes(SALT_SIZE)
    for start in range(0, count, batch):
        rows, docs = [], []
        for i in range(start, min(count, start + batch)):
            lang = langs[i % len(langs)]
            author = AUTHORS[lang]
            body = compose(lang, rng, i // len(langs))
            audience, tlp = sharing(rng)
            ingest = first_ingest + i
            rows.append(
                {
                    "party": author,
                    "seq": seqs[author],
                    "ingest": ingest,
                    "leaf": b"bench placeholder header",
                    "leaf_hash": ingest.to_bytes(32, "big"),
                    "kind": "notification",
                    "status": "Actual",
                    "time": now - (count - i) * 1000,
                    "audience": audience,
                    "tlp": tlp,
                    "body": canonical_bytes(body),
                    "salt": salt,
                    "flag": None,
                    "stored_at": now,
                }
            )
            seqs[author] += 1
            text = search.entry_text("notification", body)
            docs.append(search_rows.Document(ingest, text, index_terms(text)))
        yield rows, docs


def home_for(count: int, database: str | None) -> Path:
    return HOMES / f"n{count}{'-pg' if database else ''}"


def build(args: argparse.Namespace) -> dict[str, Any]:
    """Create the node and fill its store; return the build figures."""
    home = home_for(args.count, args.database)
    shutil.rmtree(home, ignore_errors=True)
    home.parent.mkdir(parents=True, exist_ok=True)
    node = Node.create(home, party=PARTY, name="bench", network=NETWORK, database=args.database)
    noise = Interference()
    started = time.perf_counter()
    made_s = insert_s = 0.0
    postings = 0
    try:
        with node.store.read() as conn:
            first = logs.next_ingest(conn)
        if node.store.dialect == "sqlite":
            with node.store.write(durable=False) as tx:  # a pooled connection: kept for the build
                tx.exec_driver_sql("PRAGMA cache_size=-1000000")
        made = time.perf_counter()
        for done, (rows, docs) in enumerate(batches(args.count, args.batch, first, args.seed)):
            t0 = time.perf_counter()
            made_s += t0 - made
            with node.store.write(durable=False) as tx:
                logs.insert_entries(tx, rows)
                postings += search_rows.insert_documents(tx, docs)
                search_rows.set_cursor(tx, docs[-1].ingest)
            made = time.perf_counter()
            insert_s += made - t0
            stored = min(args.count, (done + 1) * args.batch)
            if stored % max(args.batch, args.count // 20) == 0 or stored == args.count:
                print(
                    f"  {stored:>10,} entries  {postings:>12,} postings  "
                    f"{stored / (made - started):,.0f} entries/s",
                    file=sys.stderr,
                    flush=True,
                )
        size = sum(p.stat().st_size for p in home.glob("parley.db*"))
        if node.store.dialect == "postgresql":  # as autovacuum would, after a bulk load
            with node.store.writer.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
                size = int(
                    conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
                    or 0
                )
    finally:
        node.close()
    info = {
        "format": BUILD_FORMAT,
        "fingerprint": source_fingerprint(),
        "count": args.count,
        "database": "postgresql" if args.database else "sqlite",
        "url": args.database,
        "postings": postings,
        "postings_per_entry": postings / args.count,
        "build_s": time.perf_counter() - started,
        "text_and_terms_s": made_s,
        "insert_s": insert_s,
        "db_bytes": size,
        "peak_rss_mib": peak_rss_mib(),
        "interference": noise.report(),
    }
    (home / MARKER).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def cached(args: argparse.Namespace) -> dict[str, Any] | None:
    """The build record of the filled store, if this code can reuse it as it is."""
    if args.rebuild:
        return None
    try:
        info: dict[str, Any] = json.loads(
            (home_for(args.count, args.database) / MARKER).read_text()
        )
    except (OSError, ValueError):
        return None
    same = info.get("format") == BUILD_FORMAT and info.get("count") == args.count
    same = same and info.get("url") == args.database
    return info if same and info.get("fingerprint") == source_fingerprint() else None


# Measuring ----------------------------------------------------------------------------------


def measure(node: Node, args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for lang, queries in QUERIES.items():
        for query in queries:
            for _ in range(args.warmup):
                search.search(node, query, clearance=ANALYST)
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                page = search.search(node, query, clearance=ANALYST)
                times.append(time.perf_counter() - t0)
            with node.store.read() as conn:
                terms = parse_query(query).terms()
                counts = search_rows.term_counts(conn, terms, search.COUNT_BOUND)
            rows.append(
                {
                    "lang": lang,
                    "query": query,
                    "hits": len(page.hits),
                    "more": page.cursor is not None,
                    "rarest": min(counts.values()),
                    "times": times,
                    **latency_summary(times),
                }
            )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    print(machine_line(machine()))
    info = cached(args)
    if info is None:
        print(f"filling a store with {args.count:,} notifications ...", file=sys.stderr)
        info = build(args)
    else:
        home = home_for(args.count, args.database)
        print(f"reusing the store of {args.count:,} notifications of {home.relative_to(OUT)}")
    print_table(
        "the store",
        ["entries", "postings", "per entry", "build s", "texts+terms s", "inserts s", "DB GiB"],
        [
            [
                info["count"],
                info["postings"],
                info["postings_per_entry"],
                info["build_s"],
                info["text_and_terms_s"],
                info["insert_s"],
                info["db_bytes"] / 2**30,
            ]
        ],
    )
    node = Node.open(home_for(args.count, args.database))
    noise = Interference()
    try:
        rows = measure(node, args)
    finally:
        node.close()
    print_table(
        f"search latency, first page of 50, analyst clearance ({args.repeats} runs each, ms)",
        ["lang", "query", "hits", "more", "rarest term", "p50", "p99", "max"],
        [
            [r["lang"], r["query"], r["hits"], r["more"], r["rarest"], r["p50_ms"]]
            + [r["p99_ms"], r["max_ms"]]
            for r in rows
        ],
    )
    per_lang = {
        lang: latency_summary([t for r in rows if r["lang"] == lang for t in r["times"]])
        for lang in QUERIES
    }
    print_table(
        "per language (all its queries pooled, ms)",
        ["lang", "queries", "p50", "p99", "max"],
        [
            [lang, len(QUERIES[lang]), s["p50_ms"], s["p99_ms"], s["max_ms"]]
            for lang, s in per_lang.items()
        ],
    )
    measured = noise.report()
    print(interference_line(measured))
    for r in rows:
        del r["times"]
    params = {k: v for k, v in vars(args).items() if k != "database"}
    params["engine"] = "postgresql" if args.database else "sqlite"
    key = f"search@{args.count}{'-pg' if args.database else ''}"
    figures = {"store": info, "queries": rows, "languages": per_lang, "interference": measured}
    record(key, result("search", MODULE, argv, params, figures))


if __name__ == "__main__":
    main()
