"""Pairs the Java bench's figures with the PyTorch / Pillow references and checks them against the targets.

    /usr/bin/python3 bench/compare.py JAVA.json... REF.json...
JAVA files are `glimpse bench --json` reports, REF files the one-line outputs of bench/pytorch_decode.py and
bench/pillow_preprocess.py. With several rounds of a paired figure, each side is the median over rounds of its
per-round medians, and the per-round ratios are listed.
"""
import json
import statistics
import sys

NAN = float("nan")


def load(path):
    with open(path) as f:
        text = f.read().strip()
    return json.loads(text) if text.startswith("{\n") else json.loads(text.splitlines()[-1])


def main():
    java_rounds, refs = [], {}
    for p in sys.argv[1:]:
        d = load(p)
        if "results" in d:
            java_rounds.append(d)
        else:
            refs.setdefault(d["impl"], []).append(d)
    machine = java_rounds[-1]["machine"]
    config = dict(java_rounds[-1]["config"])
    series = {}  # key -> per-round values, in file order
    notes = {}
    for d in java_rounds:
        for k, r in d["results"].items():
            series.setdefault(k, []).append(r["value"])
            notes[k] = r
        if "clients" in d["config"]:
            config["clients"] = d["config"]["clients"]
    med = lambda xs: statistics.median(xs) if xs else NAN  # noqa: E731
    v = lambda k: med(series.get(k, []))  # noqa: E731
    torch_ref = refs.get("pytorch-eager", [])
    pil = refs.get("pillow+numpy", [])
    ref = lambda rs, k: med([r[k] for r in rs if k in r])  # noqa: E731
    clients = config.get("clients", 16)

    rows = []  # (what, glimpse, reference, ratio, per-round ratios, target, met)

    def pair(what, ours, theirs, target, higher_is_better=True, per_round=""):
        ratio = ours / theirs if theirs else NAN
        bound = NAN if target.startswith("(") else float(target.split()[-1].rstrip("x"))
        ok = ratio >= bound if higher_is_better else ratio <= bound
        rows.append((what, f"{ours:.1f}", f"{theirs:.1f}", f"{ratio:.2f}x", per_round, target,
                     "-" if target.startswith("(") else "yes" if ok else "NO"))

    def rounds(java_key, refs_list, ref_key):
        j = series.get(java_key, [])
        r = [x[ref_key] for x in refs_list if ref_key in x]
        return " ".join(f"{a / b:.2f}" for a, b in zip(j, r)) if len(j) > 1 and len(j) == len(r) else ""

    pair("decode tok/s, batch 1 (vs PyTorch eager)", v("decode_tok_s"), ref(torch_ref, "decode_tok_s"), ">= 2x",
         per_round=rounds("decode_tok_s", torch_ref, "decode_tok_s"))
    if any("decode_tok_s_1_thread" in r for r in torch_ref):
        pair("  same, vs PyTorch eager with 1 thread", v("decode_tok_s"), ref(torch_ref, "decode_tok_s_1_thread"), "(info)",
             per_round=rounds("decode_tok_s", torch_ref, "decode_tok_s_1_thread"))
    pair(f"HTTP tok/s, {clients} clients (vs 1 client)", v(f"http_{clients}_clients_tok_s"), v("http_1_client_tok_s"), ">= 4x")
    pair("TTFT ms, seen image (vs new image)", v("ttft_seen_ms"), v("ttft_new_ms"), "<= 0.3x", higher_is_better=False)
    limit = pil[0].get("token_limit") if pil else "?"
    rlimit = pil[0].get("resize_token_limit") if pil else "?"
    pair(f"preprocess img/s, 1 thread (vs Pillow), limit {limit}", v("preprocess_single_img_s"), ref(pil, "single_img_s"),
         ">= 2x", per_round=rounds("preprocess_single_img_s", pil, "single_img_s"))
    pair(f"preprocess img/s, pool of {machine.get('cores')} (vs Pillow)", v("preprocess_pool_img_s"), ref(pil, "single_img_s"),
         ">= 2x", per_round=rounds("preprocess_pool_img_s", pil, "single_img_s"))
    pair(f"  with resize (limit {rlimit}), 1 thread", v("preprocess_resize_single_img_s"), ref(pil, "resize_single_img_s"),
         "(info)", per_round=rounds("preprocess_resize_single_img_s", pil, "resize_single_img_s"))
    pair(f"  with resize (limit {rlimit}), pool of {machine.get('cores')}", v("preprocess_resize_pool_img_s"),
         ref(pil, "resize_single_img_s"), "(info)", per_round=rounds("preprocess_resize_pool_img_s", pil, "resize_single_img_s"))

    t0 = torch_ref[0] if torch_ref else {}
    print(f"machine: {machine.get('cores')} cores {machine.get('cpu')}, {machine.get('java')}, ONNX Runtime "
          f"{machine.get('onnxruntime')}, torch {t0.get('torch')} ({t0.get('threads')} threads), "
          f"Pillow {pil[0].get('pillow') if pil else '?'}; load average {java_rounds[0]['machine'].get('loadavg_before')} "
          f"-> {machine.get('loadavg_after')}")
    print(f"model: {config.get('model')} ({machine.get('parameters')} parameters); medians of {config.get('runs')} runs"
          + (f", paired figures over {len(torch_ref)} rounds" if len(torch_ref) > 1 else ""))
    hdr = ("pair", "glimpse", "reference", "ratio", "per round", "target", "met")
    w = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(7)]
    fmt = f"{{:{w[0]}}}  {{:>{w[1]}}}  {{:>{w[2]}}}  {{:>{w[3]}}}  {{:{w[4]}}}  {{:>{w[5]}}}  {{}}"
    print(fmt.format(*hdr))
    for r in rows:
        print(fmt.format(*r))
    same = {r.get("same_text_as_java") for r in torch_ref}
    match = {r.get("matches_reference") for r in pil}
    print(f"checks: PyTorch greedy text equals Glimpse's: {same == {True}}; numpy preprocessing equals the reference "
          f"function: {match == {True}}")
    if "peak_rss_mib" in series:
        print(f"memory under the {clients}-client load: peak RSS {v('peak_rss_mib'):.0f} MiB ({notes['peak_rss_mib'].get('note')}), "
              f"KV cache in use max {v('kv_cache_bytes_peak'):.0f} B, reserved max {v('kv_cache_reserved_bytes_peak'):.0f} B")
    ctx = sorted((notes[k]["context"], v(k)) for k in series if k.startswith("decode_ms_per_token_ctx_"))
    if ctx:
        print("decode ms/token by context: " + ", ".join(f"{c}: {ms:.2f}" for c, ms in ctx))
    bat = sorted((notes[k]["batch"], v(k)) for k in series if k.startswith("decode_step_ms_batch_"))
    if bat:
        b1 = bat[0][1]
        print("decoder step ms by batch (graph only): " + ", ".join(f"{b}: {ms:.2f} ({b * b1 / ms:.1f}x tok/s)" for b, ms in bat))
    if "ttft_seen_engine_ms" in series:
        print(f"TTFT inside the engine: seen {v('ttft_seen_engine_ms'):.1f} ms, new {v('ttft_new_engine_ms'):.1f} ms "
              f"(the rest of {v('ttft_seen_ms'):.1f} / {v('ttft_new_ms'):.1f} ms is HTTP, JSON, image decode + preprocess + hash)")
    ck = f"cpu_{clients}_clients_pct"
    if ck in series:
        print(f"server CPU: 1 client {v('cpu_1_client_pct'):.0f}% of a core, {clients} clients {v(ck):.0f}% "
              f"(machine {notes[ck].get('machine_busy_pct', NAN):.0f}% busy); tokens per server CPU-second "
              f"{v('tokens_per_cpu_s_1_client'):.0f} vs {v(f'tokens_per_cpu_s_{clients}_clients'):.0f}")
    scored = [r for r in rows if r[5] != "(info)"]
    print(f"targets met: {sum(r[6] == 'yes' for r in scored)} of {len(scored)}")


if __name__ == "__main__":
    main()
