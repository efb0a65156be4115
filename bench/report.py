"""Turn the per-round measurements into medians, target verdicts, a markdown table and a chart."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
# The targets are ratios to the peers measured in the same run (the same machine, the same load, the same
# interference), except the stream one.
ADDED_P99_RATIO_TARGET = {"litellm": 0.12, "portkey": 0.30}  # our added p99 at most this times the peer's
THROUGHPUT_RATIO_TARGET = {"litellm": 5.0, "portkey": 1.0}  # ours at least (LiteLLM) / above (Portkey) this times
STREAM_GAP_TARGET_MS = 5.0
MEMORY_GROWTH_TARGET = 0.05
PEER_LABEL = {"litellm": "LiteLLM", "portkey": "Portkey"}


def _median(values: list[float | None]) -> float | None:
    clean = [v for v in values if v is not None]
    return statistics.median(clean) if clean else None


def _ok(value: Any) -> bool:
    return isinstance(value, dict) and "error" not in value


def _series(state: Any, test: str, target: str) -> list[Any]:
    return list(state.data.get(test, {}).get(target, []))


def _paired(target_values: list[Any], direct_values: list[Any], get: Any) -> list[float | None]:
    """Per-round ``get(target) - get(direct)`` for rounds where both ran cleanly."""
    out: list[float | None] = []
    for t, d in zip(target_values, direct_values, strict=False):
        if _ok(t) and _ok(d) and get(t) is not None and get(d) is not None:
            out.append(get(t) - get(d))
    return out


def _latency_block(state: Any, test: str, get50: Any, get99: Any) -> dict[str, dict[str, Any]]:
    direct = _series(state, test, "direct")
    block: dict[str, dict[str, Any]] = {}
    for target, values in state.data.get(test, {}).items():
        clean = [v for v in values if _ok(v)]
        entry: dict[str, Any] = {
            "p50": _median([get50(v) for v in clean]), "p99": _median([get99(v) for v in clean]),
            "rounds": len(clean), "errors": [v["error"] for v in values if not _ok(v)],
        }
        if "rps" in (clean[0] if clean else {}):
            entry["rps"] = _median([v["rps"] for v in clean])
            entry["request_errors"] = sum(v.get("errors", 0) for v in clean)
        if target != "direct":
            entry["added_p50"] = _median(_paired(values, direct, get50))
            entry["added_p99"] = _median(_paired(values, direct, get99))
        block[target] = entry
    return block


def summarize(state: Any, p99_bound: float, error_bound: float, stall_ms: float, pace_ms: float) -> dict[str, Any]:
    summary: dict[str, Any] = {"bounds": {"p99_ms": p99_bound, "errors": error_bound, "stall_ms": stall_ms,
                                          "pace_ms": pace_ms}}
    summary["c1"] = {
        "chat": _latency_block(state, "c1_chat", lambda v: v["p50"], lambda v: v["p99"]),
        "embeddings": _latency_block(state, "c1_embed", lambda v: v["p50"], lambda v: v["p99"]),
        "ttft": _latency_block(state, "c1_ttft", lambda v: v["ttft_ms"]["p50"], lambda v: v["ttft_ms"]["p99"]),
    }
    summary["lat50"] = _latency_block(state, "lat50", lambda v: v["p50"], lambda v: v["p99"])

    throughput: dict[str, Any] = {}
    for target, values in state.data.get("throughput", {}).items():
        clean = [v for v in values if _ok(v)]
        throughput[target] = {
            "best_rps": _median([v["best_rps"] for v in clean]),
            "per_round": [round(v["best_rps"]) for v in clean],
            "rate": _median([v["best_rate"] for v in clean]),
            "first_fail": _median([v["first_failing_rate"] for v in clean]),
            "p99_at_best": _median([v["p99_at_best"] for v in clean]),
            "capped": any(v.get("capped") for v in clean),
        }
    summary["throughput"] = throughput

    streams: dict[str, Any] = {}
    for test, per_target in state.data.items():
        if not test.startswith("streams_"):
            continue
        level = int(test.split("_", 1)[1])
        direct = per_target.get("direct", [])
        block: dict[str, Any] = {}
        for target, values in per_target.items():
            clean = [v for v in values if _ok(v)]
            entry = {
                "streams": sum(v["streams"] for v in clean), "ok": sum(v["ok"] for v in clean),
                "failed": sum(v["failed"] for v in clean), "short": sum(v["short"] for v in clean),
                "stalls": sum(v["stalls"] for v in clean),
                "peak_open": _median([v.get("peak_open") for v in clean]),
                "ttft_p50": _median([v["ttft_ms"]["p50"] for v in clean]),
                "ttft_p99": _median([v["ttft_ms"]["p99"] for v in clean]),
                "gap_p50": _median([v["gap_ms"]["p50"] for v in clean]),
                "gap_p99": _median([v["gap_ms"]["p99"] for v in clean]),
                "gap_max": max((v["gap_ms"]["max"] or 0 for v in clean), default=None),
                "errors": _merge_errors(clean) + [v["error"] for v in values if not _ok(v)],
                "rounds": len(clean),
                "cpu_us_per_event": _median([v.get("cpu_us_per_event") for v in clean]),
            }
            if target != "direct":
                entry["added_gap_p99"] = _median(_paired(values, direct, lambda v: v["gap_ms"]["p99"]))
                entry["added_ttft_p50"] = _median(_paired(values, direct, lambda v: v["ttft_ms"]["p50"]))
            block[target] = entry
        streams[str(level)] = block
    summary["streams"] = dict(sorted(streams.items(), key=lambda kv: int(kv[0])))

    memory: dict[str, Any] = {}
    for target, m in state.memory.items():
        after = m.get("after_rounds", [])
        growth = None
        if len(after) >= 2 and after[0]:
            growth = (after[-1] - after[0]) / after[0]
        memory[target] = {"idle_mib": _mib(m.get("idle")), "peak_mib": _mib(m.get("peak")),
                          "after_first_mib": _mib(after[0] if after else None),
                          "after_last_mib": _mib(after[-1] if after else None), "growth": growth,
                          "rounds": len(after)}
    summary["memory"] = memory

    parity_rounds = [v for values in state.data.get("parity", {}).values() for v in values]
    summary["parity"] = {
        "rounds": parity_rounds,
        "exact": bool(parity_rounds) and all(_ok(v) and v["exact"] for v in parity_rounds),
    }
    summary["targets"] = _verdicts(state, summary)
    summary["warnings"] = _warnings(state, summary)
    return summary


def _merge_errors(values: list[dict[str, Any]]) -> list[str]:
    counts: Counter[str] = Counter()
    for v in values:
        counts.update(v.get("errors", {}))
    return [f"{name} x{n}" for name, n in counts.most_common()]


def _mib(value: int | None) -> float | None:
    return None if value is None else value / MIB


def _targets_by_kind(state: Any, kind: str) -> list[Any]:
    return [t for t in state.targets.values() if t.kind == kind]


def _all(verdicts: list[bool | None]) -> bool | None:
    """AND of PASS/FAIL/n-a parts: FAIL if any part fails, else n/a if any part could not be judged."""
    if any(v is False for v in verdicts):
        return False
    if not verdicts or any(v is None for v in verdicts):
        return None
    return True


def _peer(state: Any, kind: str, workers: int) -> Any:
    """The peer target of ``kind`` with ``workers`` workers (Portkey: its single process, only at 1)."""
    return state.targets.get(f"{kind}-{workers}w")


def _unavailable(target: Any) -> str:
    return f"not available ({target.reason})" if target is not None and target.reason else "not measured"


def _verdicts(state: Any, s: dict[str, Any]) -> list[dict[str, Any]]:
    out = [_latency_verdict(state, s), _throughput_verdict(state, s)]
    out += _rest_verdicts(state, s)
    return out


def _latency_verdict(state: Any, s: dict[str, Any]) -> dict[str, Any]:
    chat = s["c1"]["chat"]
    added = chat.get("gateway-1w", {}).get("added_p99")
    parts: list[str] = [f"gateway-1w added p99 {_fmt(added, 3)} ms"]
    verdicts: list[bool | None] = []
    for kind, bound in ADDED_P99_RATIO_TARGET.items():
        label = PEER_LABEL[kind]
        theirs = chat.get(f"{kind}-1w", {}).get("added_p99")
        if theirs is None:
            parts.append(f"{label}: {_unavailable(_peer(state, kind, 1))}")
            verdicts.append(None)
        elif added is None:
            parts.append(f"{label} {theirs:.3f} ms")
            verdicts.append(None)
        elif theirs <= 0:
            parts.append(f"{label} {theirs:+.3f} ms: ratio undefined (its added p99 is not above direct's)")
            verdicts.append(None)
        else:
            ratio = added / theirs
            parts.append(f"{ratio:.3f}x {label}'s {theirs:.3f} ms (target <= {bound:g}x)")
            verdicts.append(ratio <= bound)
    return {
        "target": "added p99 at concurrency 1 (chat, non-stream) <= "
                  + " and <= ".join(f"{b:g}x {PEER_LABEL[k]}'s" for k, b in ADDED_P99_RATIO_TARGET.items()),
        "value": "; ".join(parts), "pass": _all(verdicts),
    }


def _throughput_verdict(state: Any, s: dict[str, Any]) -> dict[str, Any]:
    tp = s["throughput"]
    parts: list[str] = []
    verdicts: list[bool | None] = []
    for gateway in sorted(_targets_by_kind(state, "gateway"), key=lambda t: t.workers):
        if gateway.records != "sqlite":
            continue
        ours = tp.get(gateway.name, {}).get("best_rps")
        for kind, bound in THROUGHPUT_RATIO_TARGET.items():
            label = PEER_LABEL[kind]
            peer = _peer(state, kind, gateway.workers)
            if peer is None:  # Portkey has no N-worker configuration: it is judged at 1 worker only
                continue
            theirs = tp.get(peer.name, {}).get("best_rps")
            if ours is None or theirs is None:
                parts.append(f"{gateway.workers}w vs {label}: " + ("ours not measured" if ours is None
                                                                   else _unavailable(peer)))
                verdicts.append(None)
                continue
            if not theirs:
                parts.append(f"{gateway.workers}w vs {label}: {label} passed no step (ours {ours:.0f} req/s)")
                verdicts.append(ours > 0)
                continue
            ratio = ours / theirs
            need = f">= {bound:g}x" if bound != 1.0 else "> 1x"
            parts.append(f"{gateway.workers}w: {ratio:.2f}x {label} ({ours:.0f} vs {theirs:.0f} req/s; {need})")
            verdicts.append(ratio >= bound if bound != 1.0 else ratio > bound)
    if "portkey-1w" in state.targets:
        parts.append("Portkey is one process: compared at 1 worker")
    return {
        "target": f"throughput at p99 < 50 ms >= {THROUGHPUT_RATIO_TARGET['litellm']:g}x LiteLLM's and above "
                  "Portkey's, same worker count",
        "value": "; ".join(parts) if parts else "not measured",
        "pass": _all(verdicts),
    }


def _rest_verdicts(state: Any, s: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    levels = s["streams"]
    top = max((int(k) for k in levels), default=None)
    cores_gw = [t for t in _targets_by_kind(state, "gateway") if t.records == "sqlite"]
    name = max(cores_gw, key=lambda t: t.workers).name if cores_gw else ""
    entry = levels.get(str(top), {}).get(name) if top else None
    if entry and entry["rounds"]:
        gap = entry.get("added_gap_p99")
        ok = entry["stalls"] == 0 and entry["failed"] == 0 and gap is not None and gap <= STREAM_GAP_TARGET_MS
        cpu = {name: f"{name} {_fmt(entry.get('cpu_us_per_event'), 1)} us at {top}"}
        for level, block in levels.items():  # ascending: each peer ends at the highest level it ran
            for peer, e in block.items():
                if peer.split("-")[0] in PEER_LABEL and e.get("cpu_us_per_event") is not None:
                    cpu[peer] = f"{peer} {e['cpu_us_per_event']:.1f} us at {level}"
        out.append({"target": f"{top} concurrent streams: no stall, added gap p99 <= {STREAM_GAP_TARGET_MS:g} ms",
                    "value": f"{name}: {entry['stalls']} stalls, {entry['failed']} failed of {entry['streams']}, "
                             f"added gap p99 {_fmt(gap)} ms; server CPU per relayed event: " + ", ".join(cpu.values()),
                    "pass": ok if top and top >= 1000 else None})
    else:
        out.append({"target": "1000 concurrent streams", "value": "not measured", "pass": None})

    parity = s["parity"]
    if parity["rounds"]:
        rows = sum(v.get("rows", 0) for v in parity["rounds"] if _ok(v))
        answered = sum(v.get("ok_2xx", 0) for v in parity["rounds"] if _ok(v))
        out.append({"target": "PostgreSQL row parity exact", "value": f"{rows} rows for {answered} 2xx responses",
                    "pass": parity["exact"]})
    else:
        pg = next((t for t in _targets_by_kind(state, "gateway") if t.records == "postgresql"), None)
        out.append({"target": "PostgreSQL row parity exact",
                    "value": f"not measured ({pg.reason if pg else 'no PostgreSQL configuration'})", "pass": None})

    growths = {k: v["growth"] for k, v in s["memory"].items() if k.startswith("gateway") and v["growth"] is not None}
    if growths:
        worst = max(growths.values())
        out.append({"target": f"memory flat after load (growth <= {MEMORY_GROWTH_TARGET:.0%} from round 1 to last)",
                    "value": ", ".join(f"{k} {v:+.1%}" for k, v in growths.items()),
                    "pass": worst <= MEMORY_GROWTH_TARGET})
    else:
        out.append({"target": "memory flat after load", "value": "needs 2 or more rounds", "pass": None})
    return out


def _warnings(state: Any, s: dict[str, Any]) -> list[str]:
    warnings = list(state.warnings)
    tp = s["throughput"]
    direct = tp.get("direct", {}).get("best_rps")
    for target, entry in tp.items():
        if target == "direct" or entry.get("best_rps") is None:
            continue
        if direct is None or entry["best_rps"] >= direct:
            warnings.append(f"direct throughput ({_fmt(direct, 0)} req/s) does not exceed {target}'s "
                            f"({entry['best_rps']:.0f} req/s): the mock or the load tool may be the bottleneck")
    return warnings


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:+.{digits}f}"


def _verdict(value: bool | None) -> str:
    return "n/a" if value is None else ("PASS" if value else "FAIL")


def markdown(state: Any, s: dict[str, Any]) -> str:
    lines = _header(state, s)
    for section in (_latency_section, _throughput_section, _lat50_section, _streams_section, _memory_section,
                    _parity_section, _notes_section):
        lines += section(state, s)
    lines.append("")
    return "\n".join(lines)


def _header(state: Any, s: dict[str, Any]) -> list[str]:
    mode, meta = state.mode, state.meta
    lines = [
        f"# Gateway benchmark: {mode.name} mode, {mode.rounds} round(s), {state.started}",
        "",
        f"Machine: {meta.get('machine')}; Python {meta.get('python')}; gateway commit {meta.get('gateway_commit')}; "
        f"LiteLLM {meta.get('litellm_version')}; Portkey {meta.get('portkey_version')} (Node {meta.get('node')}, "
        f"@hono/node-server {(meta.get('portkey_packages') or {}).get('node_server', '?')}); load tools: "
        + ", ".join(f"{k} {v}" for k, v in meta.get("tools", {}).items())
        + f"; load average before {_load(meta.get('load_before'))}, after {_load(meta.get('load_after'))}; "
        f"other processes used {_fmt(meta.get('foreign_cores'))} cores on average while measuring; "
        f"run took {_fmt((meta.get('elapsed_s') or 0) / 60, 1)} min.",
        "",
        "All figures are medians over rounds; *added* = target minus direct (the bare mock) in the same round. "
        "Latencies in ms.",
        "",
    ]
    for kind, label in PEER_LABEL.items():
        peer = next((t for t in state.targets.values() if t.kind == kind and not t.available), None)
        if peer is not None:
            lines += [f"**{label}: not available ({peer.reason})**", ""]
    if "portkey-1w" in state.targets:
        lines += ["Portkey runs as one Node process (it has no worker option): `portkey-1w` is compared with "
                  "`gateway-1w` and `litellm-1w`; where the N-worker servers run (50 ms upstream, streams) it runs "
                  "beside them with its one process.", ""]
    lines += ["## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {v['target']} | {v['value']} | **{_verdict(v['pass'])}** |" for v in s["targets"]]
    return lines


def _latency_section(state: Any, s: dict[str, Any]) -> list[str]:
    lines = ["", "## Added latency at concurrency 1 (k6, 1 virtual user; stream TTFT: time to the first event of a "
             "64-delta unpaced stream, our stream client)", "",
             "| request | direct p50 | direct p99 | target | p50 | p99 | added p50 | added p99 |",
             "|---|---|---|---|---|---|---|---|"]
    for label, key in (("chat, non-stream", "chat"), ("embeddings (1536 floats)", "embeddings"),
                       ("chat stream, time to first token", "ttft")):
        block = s["c1"][key]
        direct = block.get("direct", {})
        for target, entry in block.items():
            if target == "direct":
                continue
            lines.append(f"| {label} | {_fmt(direct.get('p50'), 3)} | {_fmt(direct.get('p99'), 3)} | {target} | "
                         f"{_fmt(entry['p50'], 3)} | {_fmt(entry['p99'], 3)} | {_signed(entry.get('added_p50'), 3)} | "
                         f"{_signed(entry.get('added_p99'), 3)} |")
    return lines


def _throughput_section(state: Any, s: dict[str, Any]) -> list[str]:
    lines = ["", f"## Throughput at p99 < {s['bounds']['p99_ms']:g} ms and errors < {s['bounds']['errors']:.1%} "
             "(k6 constant-arrival-rate, rate searched; chat, non-stream, instant upstream)", "",
             "| target | workers | records | best req/s | per round | offered rate that passed | first failing rate "
             "| p99 at best |", "|---|---|---|---|---|---|---|---|"]
    for target, entry in s["throughput"].items():
        t = state.targets.get(target)
        capped = " (search cap)" if entry.get("capped") else ""
        lines.append(f"| {target} | {t.workers if t and t.workers else '-'} | {(t.records if t else '') or '-'} | "
                     f"{_fmt(entry['best_rps'], 0)}{capped} | {', '.join(map(str, entry['per_round']))} | "
                     f"{_fmt(entry['rate'], 0)} | {_fmt(entry['first_fail'], 0)} | {_fmt(entry['p99_at_best'])} |")
    for t in state.targets.values():
        if not t.available and t.name not in s["throughput"]:
            lines.append(f"| {t.name} | {t.workers} | {t.records or '-'} | not available ({t.reason}) | | | | |")
    return lines


def _lat50_section(state: Any, s: dict[str, Any]) -> list[str]:
    lat = s["lat50"]
    if not lat:
        return []
    lines = ["", f"## Upstream with 50 ms latency, {state.mode.lat50_concurrency} virtual users (k6)", "",
             "| target | req/s | p50 | p99 | added p50 | added p99 | errors |", "|---|---|---|---|---|---|---|"]
    for target, entry in lat.items():
        lines.append(f"| {target} | {_fmt(entry.get('rps'), 0)} | {_fmt(entry['p50'])} | {_fmt(entry['p99'])} | "
                     f"{_signed(entry.get('added_p50'))} | {_signed(entry.get('added_p99'))} | "
                     f"{entry.get('request_errors', 0)} |")
    return lines


def _streams_section(state: Any, s: dict[str, Any]) -> list[str]:
    lines = ["", f"## Concurrent streams (64 deltas paced {s['bounds']['pace_ms']:g} ms; stall = gap > "
             f"{s['bounds']['stall_ms'] + s['bounds']['pace_ms']:g} ms)", "",
             "| streams | target | ok / total | peak open | TTFT p50 | TTFT p99 | gap p50 | gap p99 | added gap p99 "
             "| max gap | stalls | server CPU us/event | errors |", "|" + "---|" * 13]
    for level, block in s["streams"].items():
        for target, e in block.items():
            errors = "; ".join(e["errors"][:3]) or "-"
            lines.append(f"| {level} | {target} | {e['ok']} / {e['streams']} | {_fmt(e['peak_open'], 0)} | "
                         f"{_fmt(e['ttft_p50'])} | "
                         f"{_fmt(e['ttft_p99'])} | {_fmt(e['gap_p50'])} | {_fmt(e['gap_p99'])} | "
                         f"{_signed(e.get('added_gap_p99'))} | {_fmt(e['gap_max'], 1)} | {e['stalls']} | "
                         f"{_fmt(e.get('cpu_us_per_event'), 1)} | {errors} |")
    return lines


def _memory_section(state: Any, s: dict[str, Any]) -> list[str]:
    lines = ["", "## Resident memory (MiB, all processes of the server summed)", "",
             "| server | idle (after warm-up) | peak under load | after round 1 | after last round | growth |",
             "|---|---|---|---|---|---|"]
    for target, m in s["memory"].items():
        growth = "-" if m["growth"] is None else f"{m['growth']:+.1%}"
        lines.append(f"| {target} | {_fmt(m['idle_mib'], 1)} | {_fmt(m['peak_mib'], 1)} | "
                     f"{_fmt(m['after_first_mib'], 1)} | {_fmt(m['after_last_mib'], 1)} | {growth} |")
    return lines


def _parity_section(state: Any, s: dict[str, Any]) -> list[str]:
    lines = ["", "## Records in PostgreSQL (k6 shared-iterations: a fixed number of requests, every answer counted; "
             "rows counted once the writer has flushed)", ""]
    parity = s["parity"]["rounds"]
    if not parity:
        pg = [t for t in state.targets.values() if t.records == "postgresql"]
        return [*lines, f"Not measured: {pg[0].reason if pg else 'no PostgreSQL configuration'}."]
    lines += ["| round | requests sent | answered | 2xx | failed (k6) | rows stored | SUCCESS rows | req/s | exact |",
              "|---|---|---|---|---|---|---|---|---|"]
    for i, p in enumerate(parity, 1):
        if not _ok(p):
            lines.append(f"| {i} | error: {p.get('error')} | | | | | | | FAIL |")
            continue
        lines.append(f"| {i} | {p['sent']} | {p['answered']} | {p['ok_2xx']} | {p['failed']} | {p['rows']} | "
                     f"{p['success_rows']} | {p['rps']:.0f} | {'yes' if p['exact'] else 'NO'} |")
    return lines


def _notes_section(state: Any, s: dict[str, Any]) -> list[str]:
    warnings, notes = s["warnings"], list(state.notes)
    if not warnings and not notes:
        return []
    return ["", "## Warnings and notes", "", *[f"- WARNING: {w}" for w in warnings], *[f"- {n}" for n in notes]]


def _load(value: Any) -> str:
    if not value:
        return "?"
    return "/".join(f"{v:.2f}" for v in value)


def chart(s: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    fig.suptitle("gateway vs LiteLLM vs Portkey vs direct (medians)")

    ax = axes[0][0]
    labels, p50s, p99s = [], [], []
    for key, short in (("chat", "chat"), ("embeddings", "embed"), ("ttft", "TTFT")):
        for target, entry in s["c1"][key].items():
            if target == "direct":
                continue
            labels.append(f"{short}\n{target}")
            p50s.append(entry.get("added_p50") or 0)
            p99s.append(entry.get("added_p99") or 0)
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], p50s, 0.4, label="added p50")
    ax.bar([x + 0.2 for x in xs], p99s, 0.4, label="added p99")
    ax.set_xticks(list(xs), labels, fontsize=7)
    ax.set_ylabel("ms added over direct")
    ax.set_title("added latency, concurrency 1")
    ax.legend(fontsize=7)

    ax = axes[0][1]
    names = [k for k in s["throughput"] if k != "direct"]
    values = [s["throughput"][k]["best_rps"] or 0 for k in names]
    colors = ["tab:blue" if n.startswith("gateway") else "tab:green" if n.startswith("portkey") else "tab:orange"
              for n in names]
    ax.bar(names, values, color=colors)
    direct = s["throughput"].get("direct", {}).get("best_rps")
    if direct:
        ax.set_title(f"req/s at p99 < 50 ms (direct: {direct:.0f})")
    else:
        ax.set_title("req/s at p99 < 50 ms")
    ax.tick_params(axis="x", labelsize=7, rotation=20)
    for i, v in enumerate(values):
        ax.text(i, v, f"{v:.0f}", ha="center", va="bottom", fontsize=7)

    ax = axes[1][0]
    series: dict[str, list[tuple[int, float]]] = {}
    for level, block in s["streams"].items():
        for target, entry in block.items():
            if entry.get("gap_p99") is not None:
                series.setdefault(target, []).append((int(level), entry["gap_p99"]))
    for target, points in series.items():
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=target)
    ax.axhline(20 + STREAM_GAP_TARGET_MS, color="red", linestyle="--", linewidth=1, label="pace + 5 ms")
    ax.set_xlabel("concurrent streams")
    ax.set_ylabel("inter-chunk gap p99 (ms)")
    ax.set_yscale("log")
    ax.set_title("streams: gap p99 (pacing 20 ms)")
    ax.legend(fontsize=7)

    ax = axes[1][1]
    names = list(s["memory"])
    width = 0.27
    for offset, key, label in ((-width, "idle_mib", "idle"), (0, "peak_mib", "peak under load"),
                               (width, "after_last_mib", "after")):
        ax.bar([i + offset for i in range(len(names))], [s["memory"][n][key] or 0 for n in names], width, label=label)
    ax.set_xticks(range(len(names)), names, fontsize=7, rotation=20)
    ax.set_ylabel("RSS MiB (all processes)")
    ax.set_title("resident memory")
    ax.legend(fontsize=7)

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+)(?::\d+)?\)$")


_THREADS = (("event loop", "Runner.run (asyncio/runners.py"), ("record writer thread", "concurrent/futures/thread.py"),
            ("anyio worker threads (sync dependencies, run_in_threadpool)", "WorkerThread.run (anyio"))
_IDLE = ("Condition.wait (threading.py", "Queue.get (queue.py", "Event.wait (threading.py")


def profile_summary(raw: Path, label: str, top: int = 25) -> str:
    """Where the sampled time went, from py-spy's raw (collapsed) output: by thread, then, for the
    event-loop thread (the request path), self and inclusive time by function and self time by package."""
    threads: Counter[str] = Counter()
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = loop_total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        thread = next((name for name, marker in _THREADS if marker in stack), "other")
        if thread != "event loop" and any(marker in stack.rsplit(";", 1)[-1] for marker in _IDLE):
            thread += " (waiting)"
        threads[thread] += count
        if thread != "event loop":
            continue
        loop_total += count
        raw_frames = stack.split(";")
        frames = [_frame_name(f) for f in raw_frames]
        self_counts[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
        packages[_package(raw_frames[-1])] += count
    if not total:
        return f"# py-spy profile ({label})\n\nNo samples.\n"
    out = [f"# py-spy profile of gateway-1w under load ({label})", "",
           f"{total} samples at 200 Hz of threads holding the GIL (py-spy --gil).", "",
           "## Samples by thread", "", "| thread | share |", "|---|---|"]
    out += [f"| {name} | {count / total:.1%} |" for name, count in threads.most_common()]
    if not loop_total:
        return "\n".join([*out, ""])
    out += ["", f"## Event loop: self time by package ({loop_total} samples = 100 %)", "", "| package | share |",
            "|---|---|"]
    out += [f"| {name} | {count / loop_total:.1%} |" for name, count in packages.most_common(15)]
    out += ["", "## Event loop: self time by function", "", "| function | share |", "|---|---|"]
    out += [f"| `{name}` | {count / loop_total:.1%} |" for name, count in self_counts.most_common(top)]
    out += ["", "## Event loop: inclusive time by function (time with the function on the stack)", "",
            "| function | share |", "|---|---|"]
    out += [f"| `{name}` | {count / loop_total:.1%} |" for name, count in inclusive.most_common(top + 25)
            if count / loop_total < 0.995]
    out.append("")
    return "\n".join(out)


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    return f"{match['func']} ({match['file']})"


def _package(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    path = match["file"] if match else frame
    if path.startswith(("<", "(")):
        return path
    head = path.split("/", 1)[0]
    return head.removesuffix(".py")
