"""Side-by-side CPU timings: PyTorch vs ONNX Runtime vs StableSAM, same weights, same threads.

Run through Scripts/bench-peers.sh (which makes the pinned environment). Three sub-commands:

    prepare  builds the official model with seeded random weights (perturbed like
             Scripts/make_fixtures.py), saves it as model.pth (what `stablesam bench --model PATH`
             loads), exports the image encoder and the prompt encoder + mask decoder + mask
             upscaling path to ONNX (TorchScript exporter, opset 17), and checks that PyTorch and
             ONNX Runtime agree on one image and one box (writes check.json and torch_mask.png).
    worker   one engine (torch or ort) in its own process: loads the model once, warms up, then
             answers `rep` (one encoder run, the median of N decoder runs) and `profile` (ORT only:
             per-op time from ORT's profiler) on stdin/stdout, one JSON line each.
    run      the driver (imports no torch): prepares each model, checks StableSAM's mask for the
             same image and box against PyTorch's, then runs the engines interleaved
             (torch, ort, stablesam, torch, ort, ...) for --reps repetitions and writes
             summary.json and summary.md with medians, ratios and StableSAM's share of the roofline.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SEED = 20250601
# What `stablesam bench` uses: image size 1024, originalSize (768, 1024), this box (fractions of
# 1024), one box, multimask off. The check image has the same size, so nothing is resized.
IMG = 1024
ORIG_HW = (768, 1024)
BOX = (0.2 * IMG, 0.25 * IMG, 0.6 * IMG, 0.5 * IMG)
STAGES = ("image encoder", "prompt+decoder+upscale")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# model building (torch side)

def build_model(model, weights=None):
    """The official 1024-px model; seeded random weights, or `weights` (a state_dict file)."""
    import torch
    sys.path.insert(0, str(REPO / "Scripts"))
    import make_fixtures as mf
    if model == "vit_b":
        from segment_anything import build_sam_vit_b
        seed = mf.config_seed("bench_" + model)
        torch.manual_seed(seed)
        sam = build_sam_vit_b()
        if weights is None:
            mf.perturb(sam, torch.Generator().manual_seed(seed + 1))
    elif model == "vit_t":
        from mobile_sam import build_sam_vit_t
        import make_tinyvit_fixtures as tf
        seed = mf.config_seed("bench_" + model)
        torch.manual_seed(seed)
        sam = build_sam_vit_t()
        if weights is None:
            tf.perturb_mobile_sam(sam, torch.Generator().manual_seed(seed + 1))
    else:
        raise SystemExit(f"unsupported model {model} (vit_b, vit_t)")
    if weights is not None:
        sam.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    # eval() after the weights: MobileSAM caches attention_biases as `ab` in eval().
    return sam.eval()


def predictor_class(model):
    if model == "vit_t":
        from mobile_sam import SamPredictor
    else:
        from segment_anything import SamPredictor
    return SamPredictor


def decoder_module(sam):
    """prompt encoder + mask decoder + upscaling for one box, as SamPredictor.predict_torch does it
    with multimask_output=False; returns (binary masks, iou, low-res logits)."""
    import torch

    class DecoderPath(torch.nn.Module):
        def __init__(self, sam):
            super().__init__()
            self.sam = sam

        def forward(self, image_embeddings, boxes):
            sam = self.sam
            sparse, dense = sam.prompt_encoder(points=None, boxes=boxes, masks=None)
            low, iou = sam.mask_decoder(image_embeddings=image_embeddings,
                                        image_pe=sam.prompt_encoder.get_dense_pe(),
                                        sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                        multimask_output=False)
            masks = sam.postprocess_masks(low, ORIG_HW, ORIG_HW)
            return masks > sam.mask_threshold, iou, low

    return DecoderPath(sam).eval()


def boxes_1024(box, orig_hw=ORIG_HW):
    """ResizeLongestSide.apply_boxes for one box, in numpy (the ORT worker imports no torch)."""
    h, w = orig_hw
    scale = IMG / max(h, w)
    nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
    b = np.asarray(box, dtype=np.float64).reshape(-1, 2, 2)
    b[..., 0] *= nw / w
    b[..., 1] *= nh / h
    return b.reshape(-1, 4).astype(np.float32)


def timing_input():
    """Same shape and distribution as `stablesam bench`'s input: uniform(-2, 2), 1x3x1024x1024."""
    return np.random.default_rng(SEED).uniform(-2, 2, size=(1, 3, IMG, IMG)).astype(np.float32)


def check_image():
    sys.path.insert(0, str(REPO / "Scripts"))
    import make_fixtures as mf
    return mf.test_image(ORIG_HW[1], ORIG_HW[0], np.random.default_rng(SEED))


def iou_of(a, b):
    a, b = a.astype(bool), b.astype(bool)
    return float((a & b).sum() / max((a | b).sum(), 1))


def ort_session(path, threads, profile=False):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    if profile:
        so.enable_profiling = True
        so.profile_file_prefix = str(Path(path).with_suffix("")) + "_profile"
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------------------------------------
# prepare

def cmd_prepare(args):
    import torch
    from PIL import Image
    work = Path(args.work) / args.model
    work.mkdir(parents=True, exist_ok=True)
    stamp = work / "prepared.json"
    import onnx
    import onnxruntime
    key = dict(model=args.model, seed=SEED, torch=torch.__version__, onnx=onnx.__version__,
               script_version=1)
    if stamp.exists() and json.loads(stamp.read_text()).get("key") == key and not args.force:
        log(f"[prepare {args.model}] reusing {work}")
        return
    torch.set_num_threads(args.threads)
    t0 = time.time()
    sam = build_model(args.model)
    torch.save(sam.state_dict(), work / "model.pth")
    # Reload from the file, exactly as the workers will.
    sam = build_model(args.model, work / "model.pth")
    log(f"[prepare {args.model}] model.pth written ({time.time() - t0:.1f} s)")

    x = torch.from_numpy(timing_input())
    dec = decoder_module(sam)
    c, e = sam.prompt_encoder.embed_dim, sam.prompt_encoder.image_embedding_size[0]
    emb = torch.randn(1, c, e, e, generator=torch.Generator().manual_seed(SEED))
    boxes = torch.from_numpy(boxes_1024(BOX))
    with torch.no_grad():
        t0 = time.time()
        torch.onnx.export(sam.image_encoder, (x,), str(work / "encoder.onnx"), dynamo=False, opset_version=17,
                          input_names=["image"], output_names=["image_embeddings"], do_constant_folding=True)
        log(f"[prepare {args.model}] encoder.onnx exported ({time.time() - t0:.1f} s)")
        t0 = time.time()
        torch.onnx.export(dec, (emb, boxes), str(work / "decoder.onnx"), dynamo=False, opset_version=17,
                          input_names=["image_embeddings", "boxes"], output_names=["masks", "iou", "low_res_masks"],
                          do_constant_folding=True)
        log(f"[prepare {args.model}] decoder.onnx exported ({time.time() - t0:.1f} s)")

    # Agreement, PyTorch vs ONNX Runtime: one image through SamPredictor, the same input tensor through
    # ORT's encoder, then the same box through both decoders.
    SamPredictor = predictor_class(args.model)
    image = check_image()
    Image.fromarray(image).save(work / "check_image.png")
    predictor = SamPredictor(sam)
    predictor.set_image(image)
    masks, iou, _ = predictor.predict(box=np.array(BOX), multimask_output=False)
    Image.fromarray(masks[0].astype(np.uint8) * 255).save(work / "torch_mask.png")
    pre = sam.preprocess(torch.as_tensor(predictor.transform.apply_image(image)).permute(2, 0, 1)[None].float())
    enc = ort_session(work / "encoder.onnx", args.threads)
    ort_emb = enc.run(None, {"image": pre.numpy()})[0]
    ref = predictor.features.numpy()
    dsess = ort_session(work / "decoder.onnx", args.threads)
    # ORT decoder on ORT's own embedding (the pure ORT pipeline) and on PyTorch's (decoder alone).
    ort_masks, ort_iou, _ = dsess.run(None, {"image_embeddings": ort_emb, "boxes": boxes_1024(BOX)})
    ort_masks2, _, _ = dsess.run(None, {"image_embeddings": ref, "boxes": boxes_1024(BOX)})
    check = dict(
        image="check_image.png (1024x768, Scripts/make_fixtures.test_image)", box=list(BOX),
        embedding_max_abs_ref=float(np.abs(ref).max()),
        ort_embedding_max_abs_err=float(np.abs(ort_emb - ref).max()),
        ort_embedding_rel_err=float(np.abs(ort_emb - ref).max() / np.abs(ref).max()),
        torch_iou_pred=float(iou[0]), ort_iou_pred=float(ort_iou.reshape(-1)[0]),
        torch_mask_fraction=float(masks[0].mean()),
        ort_mask_iou_vs_torch=iou_of(ort_masks[0, 0], masks[0]),
        ort_decoder_on_torch_embedding_mask_iou=iou_of(ort_masks2[0, 0], masks[0]),
    )
    (work / "check.json").write_text(json.dumps(check, indent=2))
    log(f"[prepare {args.model}] check: {json.dumps(check)}")
    stamp.write_text(json.dumps(dict(key=key, onnxruntime=onnxruntime.__version__), indent=2))


# ---------------------------------------------------------------------------------------------
# worker

def peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cmd_worker(args):
    work = Path(args.work) / args.model
    x = timing_input()
    boxes = boxes_1024(BOX)
    if args.engine in ("torch", "torch-bf16"):
        import contextlib
        import torch
        torch.set_num_threads(args.threads)
        # bf16: torch.autocast on the CPU (oneDNN runs the matmuls and convolutions with AVX512_BF16).
        precision = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if args.engine == "torch-bf16" \
            else contextlib.nullcontext
        sam = build_model(args.model, work / "model.pth")
        predictor = predictor_class(args.model)(sam)
        xt = torch.from_numpy(x)
        box = np.array(BOX)
        boxes_torch = predictor.transform.apply_boxes_torch(torch.as_tensor(box[None], dtype=torch.float), ORIG_HW)
        state = {}

        def encoder():
            with torch.no_grad(), precision():
                state["emb"] = sam.image_encoder(xt).float()

        def decoder():
            # What SamPredictor.set_image leaves behind, with the embedding just computed.
            predictor.features, predictor.is_image_set = state["emb"], True
            predictor.original_size, predictor.input_size = ORIG_HW, ORIG_HW
            if args.engine == "torch-bf16":
                # predict() converts its bf16 outputs to numpy, which numpy cannot hold: the same
                # path one step earlier (predict_torch), its outputs left as tensors.
                with precision():
                    predictor.predict_torch(None, None, boxes=boxes_torch, multimask_output=False)
            else:
                predictor.predict(box=box, multimask_output=False)

        versions = dict(torch=torch.__version__, threads=torch.get_num_threads())
    elif args.engine == "ort":
        import onnxruntime as ort
        enc = ort_session(work / "encoder.onnx", args.threads)
        dec = ort_session(work / "decoder.onnx", args.threads)
        state = {}

        def encoder():
            state["emb"] = enc.run(None, {"image": x})[0]

        def decoder():
            dec.run(None, {"image_embeddings": state["emb"], "boxes": boxes_1024(BOX)})

        versions = dict(onnxruntime=ort.__version__)
    else:
        raise SystemExit("engine must be torch, torch-bf16 or ort")

    encoder(); decoder(); decoder()   # warm-up
    print(json.dumps(dict(ready=True, **versions)), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "rep":
            t0 = time.perf_counter(); encoder(); enc_ms = (time.perf_counter() - t0) * 1e3
            ds = []
            for _ in range(args.decoder_runs):
                t0 = time.perf_counter(); decoder(); ds.append((time.perf_counter() - t0) * 1e3)
            print(json.dumps({STAGES[0]: enc_ms, STAGES[1]: statistics.median(ds),
                              "peak_rss_mb": peak_rss_mb()}), flush=True)
        elif cmd == "profile" and args.engine == "ort":
            print(json.dumps(ort_profile(work, args.threads, x, boxes)), flush=True)
        elif cmd == "quit":
            break
        else:
            print(json.dumps(dict(error=f"unknown command {cmd}")), flush=True)


def ort_profile(work, threads, x, boxes):
    """Per-op-type share of one encoder run and one decoder run, from ORT's own profiler."""
    out = {}
    for name, feeds in (("encoder", {"image": x}), ("decoder", None)):
        s = ort_session(work / f"{name}.onnx", threads, profile=True)
        if feeds is None:
            e = out["_emb"]
            feeds = {"image_embeddings": e, "boxes": boxes}
        for _ in range(2):   # the first run is a warm-up; both are in the trace, so keep the last
            r = s.run(None, feeds)
        if name == "encoder":
            out["_emb"] = r[0]
        trace_file = Path(s.end_profiling())
        trace = json.loads(trace_file.read_text())
        trace_file.unlink()
        runs = [ev for ev in trace if ev.get("name") == "model_run"]
        last_start = runs[-1]["ts"] if runs else 0
        per_op = {}
        for ev in trace:
            if ev.get("cat") == "Node" and ev["name"].endswith("_kernel_time") and ev["ts"] >= last_start:
                op = ev.get("args", {}).get("op_name", "?")
                per_op[op] = per_op.get(op, 0) + ev["dur"] / 1e3
        total = sum(per_op.values())
        out[name] = dict(total_kernel_ms=total,
                         top=[dict(op=k, ms=round(v, 2), pct=round(100 * v / total, 1))
                              for k, v in sorted(per_op.items(), key=lambda kv: -kv[1])[:8]])
    out.pop("_emb")
    return out


# ---------------------------------------------------------------------------------------------
# driver

def loadavg():
    return [round(v, 2) for v in os.getloadavg()]


class Worker:
    def __init__(self, engine, model, args, env):
        cmd = [sys.executable, __file__, "worker", "--engine", engine, "--model", model, "--work", args.work,
               "--threads", str(args.threads), "--decoder-runs", str(args.decoder_runs)]
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.info = self._read()

    def _read(self):
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit(f"worker exited (rc {self.p.wait()})")
        return json.loads(line)

    def ask(self, cmd):
        self.p.stdin.write(cmd + "\n"); self.p.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.p.stdin.write("quit\n"); self.p.stdin.flush()
        except BrokenPipeError:
            pass
        self.p.wait()


def stablesam_rep(args, model, env, precision="fp32"):
    cmd = [args.stablesam, "bench", "--model", str(Path(args.work) / model / "model.pth"), "--runs", "1",
           "--threads", str(args.threads), "--precision", precision, "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    r = json.loads(out)
    st = {s["name"]: s for s in r["stages"]}
    return {STAGES[0]: st[STAGES[0]]["medianMs"], STAGES[1]: st[STAGES[1]]["medianMs"],
            "plugin stage ms": st.get("... + Stable-SAM plugin", {}).get("medianMs"),
            "plugin overhead %": r.get("pluginOverheadPercent"),
            "gflop": {k: st[k]["gflop"] for k in STAGES}, "gemm_peak_gflops": r["gemmPeakGFLOPS"],
            "peak_rss_mb": r["peakMemoryMB"]}


def stablesam_check(args, model, env):
    """`stablesam segment` on the check image and box vs PyTorch's SamPredictor mask."""
    from PIL import Image
    work = Path(args.work) / model
    out = work / "stablesam_segment"
    cmd = [args.stablesam, "segment", str(work / "check_image.png"), "--model", str(work / "model.pth"),
           "--box", ",".join(f"{v:g}" for v in BOX), "--out", str(out), "--threads", str(args.threads)]
    subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    ours = np.asarray(Image.open(out / "mask.png").convert("L")) > 127
    ref = np.asarray(Image.open(work / "torch_mask.png").convert("L")) > 127
    res = json.loads((out / "result.json").read_text())
    m = res["masks"][res["best"]]
    pred = m.get("predicted_iou", m.get("predictedIou"))
    return dict(stablesam_mask_iou_vs_torch=iou_of(ours, ref), stablesam_iou_pred=pred,
                stablesam_mismatched_pixels=int((ours != ref).sum()))


def fmt(v, spec=".1f"):
    return "—" if v is None else format(v, spec)


def cmd_run(args):
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(args.threads)
    # The same allocator tuning for every engine: PyTorch page-faults heavily without it
    # (/work/shared/PYTHON.md); StableSAM sets the same two mallopt values itself.
    env["GLIBC_TUNABLES"] = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736"
    load_start = loadavg()
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    log(f"load average at start (1/5/15 min): {load_start} on {os.cpu_count()} CPUs")
    results = {}
    for model in models:
        subprocess.run([sys.executable, __file__, "prepare", "--model", model, "--work", args.work,
                        "--threads", str(args.threads)], check=True, env=env)
        check = json.loads((Path(args.work) / model / "check.json").read_text())
        check.update(stablesam_check(args, model, env))
        log(f"[{model}] check: {json.dumps(check)}")

        workers = {"PyTorch": Worker("torch", model, args, env), "ONNX Runtime": Worker("ort", model, args, env)}
        engines = {"PyTorch": [], "ONNX Runtime": [], "StableSAM": []}
        if args.bf16:
            workers["PyTorch bf16"] = Worker("torch-bf16", model, args, env)
            engines.update({"PyTorch bf16": [], "StableSAM bf16": []})
        loads = []
        for rep in range(args.reps):
            for name in engines:
                if name.startswith("StableSAM"):
                    r = stablesam_rep(args, model, env, "bf16" if name.endswith("bf16") else "fp32")
                else:
                    r = workers[name].ask("rep")
                engines[name].append(r)
                log(f"[{model}] rep {rep + 1}/{args.reps} {name:13s} encoder {r[STAGES[0]]:9.1f} ms   "
                    f"decoder {r[STAGES[1]]:7.1f} ms")
            loads.append(loadavg()[0])
        profile = workers["ONNX Runtime"].ask("profile") if args.ort_profile else None
        info = {k: w.info for k, w in workers.items()}
        for w in workers.values():
            w.close()

        ours = engines["StableSAM"]
        peak = statistics.median(r["gemm_peak_gflops"] for r in ours)
        stages = {}
        for s in STAGES:
            med = {e: statistics.median(r[s] for r in rs) for e, rs in engines.items()}
            gflop = ours[-1]["gflop"][s]
            stages[s] = dict(median_ms=med, samples_ms={e: [round(r[s], 2) for r in rs] for e, rs in engines.items()},
                             gflop=gflop, ratio_vs_ort=med["StableSAM"] / med["ONNX Runtime"],
                             ratio_vs_pytorch=med["StableSAM"] / med["PyTorch"],
                             roofline_pct=100 * gflop / (med["StableSAM"] / 1e3) / peak,
                             roofline_pct_peers={e: 100 * gflop / (med[e] / 1e3) / peak
                                                 for e in ("PyTorch", "ONNX Runtime")})
            if args.bf16:
                stages[s].update(bf16_ratio_vs_ort=med["StableSAM bf16"] / med["ONNX Runtime"],
                                 bf16_ratio_vs_pytorch_bf16=med["StableSAM bf16"] / med["PyTorch bf16"],
                                 bf16_ratio_vs_fp32=med["StableSAM bf16"] / med["StableSAM"])
        results[model] = dict(stages=stages, gemm_peak_gflops=peak, check=check, load_1min_per_rep=loads,
                              peak_rss_mb={e: statistics.median(r["peak_rss_mb"] for r in rs) for e, rs in engines.items()},
                              plugin_stage_ms=statistics.median(r["plugin stage ms"] for r in ours),
                              plugin_overhead_pct=statistics.median(r["plugin overhead %"] for r in ours),
                              ort_profile=profile, engines=info)
    load_end = loadavg()
    log(f"load average at end (1/5/15 min): {load_end}")
    summary = dict(started=started, host=dict(cpus=os.cpu_count(), machine=platform.machine(),
                                               python=platform.python_version()),
                   threads=args.threads, reps=args.reps, decoder_runs_per_rep=args.decoder_runs,
                   load_average_start=load_start, load_average_end=load_end, models=results,
                   command=" ".join(["Scripts/bench-peers.sh"] + sys.argv[2:]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    md = markdown(summary)
    (out / "summary.md").write_text(md)
    print(md)
    log(f"wrote {out / 'summary.json'} and {out / 'summary.md'}")


NAMES = {"vit_b": "ViT-B", "vit_t": "TinyViT (MobileSAM)", "vit_l": "ViT-L", "vit_h": "ViT-H"}


def markdown(s):
    L = [f"Peer timings, {s['threads']} threads, {s['reps']} interleaved repetitions (PyTorch, ONNX Runtime, "
         f"StableSAM, PyTorch, ...), medians; decoder = median of {s['decoder_runs_per_rep']} runs per repetition. "
         f"Random weights (seeded, identical in all three engines), 1024x1024 input, one box. "
         f"Load average (1/5/15 min) {s['load_average_start']} at start, {s['load_average_end']} at end, "
         f"on {s['host']['cpus']} CPUs: the machine is shared, so times carry that load; interleaving and medians "
         f"spread it over all engines alike.", "",
         "| stage | PyTorch ms | ONNX Runtime ms | StableSAM ms | ratio vs ORT | ratio vs PyTorch | % of GEMM roofline |",
         "|---|---:|---:|---:|---:|---:|---:|"]
    for model, r in s["models"].items():
        for stage, st in r["stages"].items():
            m = st["median_ms"]
            L.append(f"| {NAMES.get(model, model)} {stage} | {m['PyTorch']:.1f} | {m['ONNX Runtime']:.1f} | "
                     f"{m['StableSAM']:.1f} | {st['ratio_vs_ort']:.2f}x | {st['ratio_vs_pytorch']:.2f}x | "
                     f"{st['roofline_pct']:.0f}% |")
    L.append("")
    if any("bf16_ratio_vs_ort" in st for r in s["models"].values() for st in r["stages"].values()):
        L += ["bf16 (`--bf16`: PyTorch under torch.autocast(\"cpu\", bfloat16), StableSAM `--precision bf16`), "
              "in the same interleaved run:", "",
              "| stage | PyTorch bf16 ms | StableSAM bf16 ms | vs ORT fp32 | vs PyTorch bf16 | vs StableSAM fp32 |",
              "|---|---:|---:|---:|---:|---:|"]
        for model, r in s["models"].items():
            for stage, st in r["stages"].items():
                m = st["median_ms"]
                L.append(f"| {NAMES.get(model, model)} {stage} | {m['PyTorch bf16']:.1f} | {m['StableSAM bf16']:.1f} | "
                         f"{st['bf16_ratio_vs_ort']:.2f}x | {st['bf16_ratio_vs_pytorch_bf16']:.2f}x | "
                         f"{st['bf16_ratio_vs_fp32']:.2f}x |")
        L.append("")
    L.append("Ratio = StableSAM time / peer time (below 1 = faster). Roofline = GEMM FLOPs / measured sgemm peak "
             "(both from `stablesam bench --json`).")
    L.append("")
    for model, r in s["models"].items():
        c = r["check"]
        L.append(f"**{NAMES.get(model, model)}**: sgemm peak {r['gemm_peak_gflops']:.1f} GFLOP/s; GEMM GFLOP per stage "
                 + ", ".join(f"{k} {v['gflop']:.2f}" for k, v in r["stages"].items())
                 + "; peers' share of that roofline: "
                 + ", ".join(f"{k} PyTorch {v['roofline_pct_peers']['PyTorch']:.0f}% / ORT "
                             f"{v['roofline_pct_peers']['ONNX Runtime']:.0f}%" for k, v in r["stages"].items())
                 + f". Peak RSS MB: " + ", ".join(f"{k} {v:.0f}" for k, v in r["peak_rss_mb"].items())
                 + f". Stable-SAM plugin decoder stage {r['plugin_stage_ms']:.1f} ms (+{r['plugin_overhead_pct']:.1f}%).")
        L.append(f"Agreement on one 1024x768 image and box: ORT embedding max |err| {c['ort_embedding_max_abs_err']:.2e} "
                 f"({c['ort_embedding_rel_err']:.1e} of max |embedding|); mask IoU vs PyTorch: ORT "
                 f"{c['ort_mask_iou_vs_torch']:.4f}, StableSAM {c['stablesam_mask_iou_vs_torch']:.4f} "
                 f"({c['stablesam_mismatched_pixels']} pixels differ); predicted IoU PyTorch {c['torch_iou_pred']:.4f}, "
                 f"ORT {c['ort_iou_pred']:.4f}, StableSAM {c['stablesam_iou_pred']:.4f}.")
        if r.get("ort_profile"):
            for g, p in r["ort_profile"].items():
                L.append(f"ORT {g} profile (kernel time {p['total_kernel_ms']:.0f} ms): "
                         + ", ".join(f"{t['op']} {t['pct']}%" for t in p["top"]) + ".")
        L.append("Samples (ms): " + "; ".join(f"{k}: " + ", ".join(f"{e} {v}" for e, v in st["samples_ms"].items())
                                              for k, st in r["stages"].items()) + ".")
        L.append("")
    L.append(f"Command: `{s['command']}` ({s['started']}). Engines: "
             + "; ".join(f"{m}: " + ", ".join(f"{k} {json.dumps(v)}" for k, v in r["engines"].items())
                         for m, r in s["models"].items()) + ".")
    return "\n".join(L) + "\n"


def main():
    import warnings
    # The TorchScript exporter and timm warn about tracing constants and deprecated registries; the
    # shapes here are fixed, so the traces are exact.
    warnings.filterwarnings("ignore")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare")
    pw = sub.add_parser("worker")
    pr = sub.add_parser("run")
    for q in (pp, pw, pr):
        q.add_argument("--work", default=str(REPO / ".build-bench"), help="models, ONNX files, check outputs")
        q.add_argument("--threads", type=int, default=2)
    for q in (pp, pw):
        q.add_argument("--model", required=True)
    pp.add_argument("--force", action="store_true")
    pw.add_argument("--engine", required=True)
    for q in (pw, pr):
        q.add_argument("--decoder-runs", type=int, default=21,
                       help="decoder runs per repetition (median); 21 = what `stablesam bench` does")
    pr.add_argument("--models", default="vit_b,vit_t")
    pr.add_argument("--reps", type=int, default=3)
    pr.add_argument("--stablesam", required=True, help="the stablesam binary")
    pr.add_argument("--out", default=str(REPO / ".build-bench" / "results"))
    pr.add_argument("--no-ort-profile", dest="ort_profile", action="store_false")
    pr.add_argument("--bf16", action="store_true",
                    help="also PyTorch with bf16 autocast and StableSAM --precision bf16, interleaved with the rest")
    args = p.parse_args()
    {"prepare": cmd_prepare, "worker": cmd_worker, "run": cmd_run}[args.cmd](args)


if __name__ == "__main__":
    main()
