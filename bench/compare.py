"""Pairs the Java bench's figures with the PyTorch / Pillow references and checks them against the targets.

    /usr/bin/python3 bench/compare.py java-pairs.json java-server.json pytorch.json pillow.json
Java reports are the JSON files of `glimpse bench --json`; the references print one JSON line each.
"""
import json
import sys


def load(path):
    with open(path) as f:
        text = f.read().strip()
    return json.loads(text.splitlines()[-1]) if not text.startswith("{\n") else json.loads(text)


def main():
    java = {}
    machine, config = {}, {}
    refs = {}
    for p in sys.argv[1:]:
        d = load(p)
        if "results" in d:
            java.update(d["results"])
            machine, config = d["machine"], d["config"]
        else:
            refs[d["impl"]] = d
    v = lambda k: java[k]["value"] if k in java else float("nan")  # noqa: E731
    torch_ref = refs.get("pytorch-eager", {})
    pil = refs.get("pillow+numpy", {})
    clients = config.get("clients", 16)

    rows = []  # (what, glimpse, reference, ratio, target, met)

    def pair(what, ours, ref, ratio, target, ok):
        rows.append((what, ours, ref, f"{ratio:.2f}x", target, "-" if target == "(info)" else "yes" if ok else "NO"))

    d, t = v("decode_tok_s"), torch_ref.get("decode_tok_s", float("nan"))
    pair("decode tok/s, batch 1 (vs PyTorch eager)", f"{d:.1f}", f"{t:.1f}", d / t, ">= 2x", d / t >= 2)
    one, many = v("http_1_client_tok_s"), v(f"http_{clients}_clients_tok_s")
    pair(f"HTTP tok/s, {clients} clients vs 1", f"{many:.1f}", f"{one:.1f} (1 client)", many / one, ">= 4x", many / one >= 4)
    seen, new = v("ttft_seen_ms"), v("ttft_new_ms")
    pair("TTFT ms, seen image vs new image", f"{seen:.1f}", f"{new:.1f} (new)", seen / new, "<= 0.3x", seen / new <= 0.3)
    j, p = v("preprocess_single_img_s"), pil.get("single_img_s", float("nan"))
    pair(f"preprocess img/s, 1 thread (vs Pillow), limit {pil.get('token_limit')}", f"{j:.1f}", f"{p:.1f}", j / p, ">= 2x", j / p >= 2)
    jp = v("preprocess_pool_img_s")
    pair(f"preprocess img/s, pool of {machine.get('cores')} (vs Pillow 1 process)", f"{jp:.1f}", f"{p:.1f}", jp / p, ">= 2x", jp / p >= 2)
    jr, pr = v("preprocess_resize_single_img_s"), pil.get("resize_single_img_s", float("nan"))
    pair(f"  with resize, limit {pil.get('resize_token_limit')}, 1 thread", f"{jr:.1f}", f"{pr:.1f}", jr / pr, "(info)", True)
    jrp = v("preprocess_resize_pool_img_s")
    pair(f"  with resize, pool of {machine.get('cores')}", f"{jrp:.1f}", f"{pr:.1f}", jrp / pr, "(info)", True)

    print(f"machine: {machine.get('cores')} cores {machine.get('cpu')}, {machine.get('java')}, ONNX Runtime "
          f"{machine.get('onnxruntime')}, torch {torch_ref.get('torch')} ({torch_ref.get('threads')} threads), "
          f"Pillow {pil.get('pillow')}; load average {machine.get('loadavg_before')} -> {machine.get('loadavg_after')}")
    print(f"model: {config.get('model')} ({machine.get('parameters')} parameters); medians of {config.get('runs')} runs")
    w = max(len(r[0]) for r in rows)
    print(f"{'pair':{w}}  {'glimpse':>9}  {'reference':>16}  {'ratio':>7}  {'target':>7}  met")
    for r in rows:
        print(f"{r[0]:{w}}  {r[1]:>9}  {r[2]:>16}  {r[3]:>7}  {r[4]:>7}  {r[5]}")
    print(f"checks: PyTorch greedy text equals Glimpse's: {torch_ref.get('same_text_as_java')}; "
          f"numpy preprocessing equals the reference function: {pil.get('matches_reference')}")
    print(f"memory under the {clients}-client load: peak RSS {v('peak_rss_mib'):.0f} MiB ({java.get('peak_rss_mib', {}).get('note')}), "
          f"KV cache in use max {v('kv_cache_bytes_peak'):.0f} B, reserved max {v('kv_cache_reserved_bytes_peak'):.0f} B")
    ctx = sorted((r["context"], r["value"]) for k, r in java.items() if k.startswith("decode_ms_per_token_ctx_"))
    if ctx:
        print("decode ms/token by context: " + ", ".join(f"{c}: {ms:.2f}" for c, ms in ctx))
    bat = sorted((r["batch"], r["value"]) for k, r in java.items() if k.startswith("decode_step_ms_batch_"))
    if bat:
        b1 = bat[0][1]
        print("decoder step ms by batch (graph only): " + ", ".join(f"{b}: {ms:.2f} ({b * b1 / ms:.1f}x tok/s)" for b, ms in bat))
    if "ttft_seen_engine_ms" in java:
        print(f"TTFT inside the engine: seen {v('ttft_seen_engine_ms'):.1f} ms, new {v('ttft_new_engine_ms'):.1f} ms "
              f"(the rest of {seen:.1f} / {new:.1f} ms is HTTP, JSON, image decode + preprocess + hash)")
    if f"cpu_{clients}_clients_pct" in java:
        print(f"server CPU: 1 client {v('cpu_1_client_pct'):.0f}% of a core, {clients} clients {v(f'cpu_{clients}_clients_pct'):.0f}% "
              f"(machine {java[f'cpu_{clients}_clients_pct'].get('machine_busy_pct', float('nan')):.0f}% busy); tokens per "
              f"server CPU-second {v('tokens_per_cpu_s_1_client'):.0f} vs {v(f'tokens_per_cpu_s_{clients}_clients'):.0f}")
    met = sum(r[5] == "yes" for r in rows if r[4] != "(info)")
    print(f"targets met: {met} of {sum(1 for r in rows if r[4] != '(info)')}")


if __name__ == "__main__":
    main()
